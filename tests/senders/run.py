#!/usr/bin/env python3
"""Differential test: how two real MTA-STS senders read our fixtures.

  * postfix-mta-sts-resolver 1.5.1 (PyPI), run in this process: the real
    STSResolver.resolve() and STSSocketmapResponder.process_request().
  * mailauth 7.1.0 (npm), run by mailauth_probe.js in a child `node`
    process: the real getPolicy() and validateMx(), lax (default) and strict.

Everything happens on the loopback interface.  This script starts:
  * a tiny DNS server on 127.0.0.1 (UDP) that serves the TXT records of each
    case and A records for the policy hosts;
  * an HTTPS server on 127.0.0.1 with a throw-away CA made by `openssl`, which
    serves each case's policy body under https://mta-sts.<case-domain>/.

Both senders are pointed at those servers only by injection that their own
APIs or libraries allow (see README.md); their parsing, filtering, fetching and
validation code runs unmodified.  No packet leaves the machine.

Run with the Python of the venv that has postfix-mta-sts-resolver installed:

  /work/senders-env/venv/bin/python tests/senders/run.py \
      --node-modules /work/senders-env/node/node_modules

Options: --only REGEX (case names), --skip-slow, --json FILE.
It is not part of `cargo test`.
"""

import argparse
import asyncio
import json
import linecache
import logging
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
POLICY_DIR = REPO / "fixtures" / "policies"
RECORD_DIR = REPO / "fixtures" / "records"

warnings.simplefilter("ignore", DeprecationWarning)  # aiodns 4: query() is deprecated

try:
    import aiodns
    import aiohttp
    import aiohttp.abc
    from postfix_mta_sts_resolver import resolver as pmsr_resolver
    from postfix_mta_sts_resolver import utils as pmsr_utils
    from postfix_mta_sts_resolver.resolver import STSResolver, STSFetchResult
    from postfix_mta_sts_resolver.responder import STSSocketmapResponder, ZoneEntry
    from postfix_mta_sts_resolver.internal_cache import InternalLRUCache
    from postfix_mta_sts_resolver.base_cache import CacheEntry
    from postfix_mta_sts_resolver import defaults as pmsr_defaults
except ImportError as exc:  # pragma: no cover
    sys.exit(f"postfix-mta-sts-resolver is not importable ({exc}); run this with the venv's python, see README.md")


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

BASE = ["version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400"]


def body(lines, eol="\n", final=True):
    text = eol.join(lines)
    return (text + eol if final else text).encode("utf-8")


def with_line(key, line):
    """BASE with the line for `key` replaced by `line` (a str, or a list of lines)."""
    out = []
    for l in BASE:
        if l.startswith(key + ":"):
            out.extend(line if isinstance(line, list) else [line])
        else:
            out.append(l)
    return out


# Extra policy inputs (not fixtures): name -> body bytes.  Served as "text/plain" (no charset),
# like nginx/Apache serve a .txt file by default.
EXTRA_POLICIES = {
    # layout
    "x-blank-line-between": body(["version: STSv1", "", "mode: enforce", "mx: mx.example.com", "max_age: 86400"]),
    "x-trailing-blank-line": body(BASE + [""]),
    "x-leading-blank-line": body([""] + BASE),
    "x-comment-line": body(["# comment"] + BASE),
    "x-comment-with-colon": body(["# note: managed by hand"] + BASE),
    "x-comment-mode-line": body(BASE + ["#mode: testing"]),
    "x-line-without-colon": body(BASE[:2] + ["this line has no colon"] + BASE[2:]),
    # duplicates
    "x-dup-mode-testing-then-enforce": body(with_line("mode", ["mode: testing", "mode: enforce"])),
    "x-dup-mode-enforce-then-testing": body(with_line("mode", ["mode: enforce", "mode: testing"])),
    "x-dup-mode-equal": body(with_line("mode", ["mode: enforce", "mode: enforce"])),
    "x-dup-max-age-86400-then-604800": body(with_line("max_age", ["max_age: 86400", "max_age: 604800"])),
    "x-dup-version-STSv1-then-STSv2": body(with_line("version", ["version: STSv1", "version: STSv2"])),
    "x-dup-mx-equal": body(with_line("mx", ["mx: mx.example.com", "mx: mx.example.com"])),
    # key case
    "x-key-Mode": body(with_line("mode", "Mode: enforce")),
    "x-key-MX-beside-mx": body(with_line("mx", ["mx: mx.example.com", "MX: mx2.example.com"])),
    "x-key-MX-only": body(with_line("mx", "MX: mx.example.com")),
    "x-key-Version": body(with_line("version", "Version: STSv1")),
    "x-key-Max_age": body(with_line("max_age", "Max_age: 86400")),
    "x-value-mode-Enforce": body(with_line("mode", "mode: Enforce")),
    "x-value-version-stsv1": body(with_line("version", "version: stsv1")),
    # whitespace
    "x-leading-space-mode": body(with_line("mode", "  mode: enforce")),
    "x-leading-tab-mx-only": body(with_line("mx", "\tmx: mx.example.com")),
    "x-space-before-colon-mode": body(with_line("mode", "mode : enforce")),
    "x-no-space-after-colon": body(["version:STSv1", "mode:enforce", "mx:mx.example.com", "max_age:86400"]),
    "x-trailing-whitespace": body([l + " \t " for l in BASE]),
    # mx values
    "x-mx-trailing-dot": body(with_line("mx", "mx: mx.example.com.")),
    "x-mx-leading-dot": body(with_line("mx", "mx: .example.com")),
    "x-mx-wildcard": body(with_line("mx", "mx: *.example.com")),
    "x-mx-ipv4": body(with_line("mx", "mx: 192.0.2.25")),
    "x-mx-ipv6": body(with_line("mx", "mx: 2001:db8::25")),
    "x-mx-empty-value": body(with_line("mx", "mx:")),
    "x-mx-comma-list": body(with_line("mx", "mx: mx1.example.com, mx2.example.com")),
    # max_age values
    "x-max-age-0": body(with_line("max_age", "max_age: 0")),
    "x-max-age-31557600": body(with_line("max_age", "max_age: 31557600")),
    "x-max-age-31557601": body(with_line("max_age", "max_age: 31557601")),
    "x-max-age-plus": body(with_line("max_age", "max_age: +86400")),
    "x-max-age-minus-1": body(with_line("max_age", "max_age: -1")),
    "x-max-age-unit-s": body(with_line("max_age", "max_age: 86400s")),
    "x-max-age-unit-d": body(with_line("max_age", "max_age: 1d")),
    "x-max-age-underscore": body(with_line("max_age", "max_age: 86_400")),
    "x-max-age-exponent": body(with_line("max_age", "max_age: 1e5")),
    "x-max-age-hex": body(with_line("max_age", "max_age: 0x15180")),
    "x-max-age-decimal": body(with_line("max_age", "max_age: 86400.5")),
    "x-max-age-empty": body(with_line("max_age", "max_age:")),
    "x-max-age-11-digits": body(with_line("max_age", "max_age: 00000086400")),
    "x-max-age-missing": body([l for l in BASE if not l.startswith("max_age")]),
    # mode values
    "x-mode-none-no-mx": body(["version: STSv1", "mode: none", "max_age: 86400"]),
    "x-mode-none-bad-max-age": body(["version: STSv1", "mode: none", "max_age: 1d"]),
    "x-mode-testing": body(with_line("mode", "mode: testing")),
    "x-mode-missing": body([l for l in BASE if not l.startswith("mode")]),
    # encodings and line endings
    "x-bom-lf": b"\xef\xbb\xbf" + body(BASE),
    "x-bom-before-mode-first": b"\xef\xbb\xbf" + body([BASE[1], BASE[0], BASE[2], BASE[3]]),
    "x-crlf": body(BASE, eol="\r\n"),
    "x-lf": body(BASE),
    "x-bare-cr": body(BASE, eol="\r"),
    "x-no-final-newline": body(BASE, final=False),
    "x-non-ascii-in-extension": body(BASE + ["x-contact: Zoë"]),
    "x-nul-byte-line": body(BASE) + b"\x00\n",
    "x-form-feed-separator": body(BASE, eol="\f"),
}

# Extra TXT record sets: name -> list of records, each a list of character-strings (bytes).
EXTRA_RECORDS = {
    "x-txt-id-dashes": [[b"v=STSv1; id=2024-01-01"]],
    "x-txt-id-33-chars": [[b"v=STSv1; id=" + b"a" * 33]],
    "x-txt-id-32-chars": [[b"v=STSv1; id=" + b"a" * 32]],
    "x-txt-space-before-semicolon": [[b"v=STSv1 ;id=1"]],
    "x-txt-no-space": [[b"v=STSv1;id=1"]],
    "x-txt-id-missing": [[b"v=STSv1;"]],
    "x-txt-id-missing-no-semicolon": [[b"v=STSv1"]],
    "x-txt-two-sts-records": [[b"v=STSv1; id=1"], [b"v=STSv1; id=2"]],
    "x-txt-two-sts-records-same-id": [[b"v=STSv1; id=1"], [b"v=STSv1; id=1"]],
    "x-txt-V-uppercase": [[b"V=STSv1; id=1"]],
    "x-txt-id-empty": [[b"v=STSv1; id="]],
    "x-txt-id-empty-then-id": [[b"v=STSv1; id=; id=2"]],
    "x-txt-id-twice": [[b"v=STSv1; id=1; id=2"]],
    "x-txt-ID-uppercase-key": [[b"v=STSv1; ID=1"]],
    "x-txt-id-spaces-around-equals": [[b"v=STSv1; id = 1"]],
    "x-txt-id-with-space": [[b"v=STSv1; id=abc def"]],
    "x-txt-version-STSv10": [[b"v=STSv10; id=1"]],
    "x-txt-version-STSv1x-no-delim": [[b"v=STSv1x; id=1"]],
    "x-txt-trailing-space": [[b"v=STSv1; id=1 "]],
    "x-txt-ext-bad-value": [[b"v=STSv1; id=1; ext=a=b"]],
    "x-txt-comma-delim": [[b"v=STSv1, id=1"]],
    "x-txt-non-ascii-unrelated-beside": [[b"v=STSv1; id=1"], ["caf\u00e9".encode("utf-8")]],
    "x-txt-non-ascii-in-ext": [["v=STSv1; id=1; x=caf\u00e9".encode("utf-8")]],
}

GOOD_POLICY = body(BASE)

# Fetch behaviour cases: name -> dict(status, headers, body, ...).  headers is a list of
# (name, value); "Content-Length" is added unless chunked=True.
PAD_LINE = b"x-pad: " + b"a" * 90 + b"\n"


def padded(total):
    """GOOD_POLICY padded with extension lines to exactly `total` bytes."""
    b = GOOD_POLICY
    while len(b) + len(PAD_LINE) <= total:
        b += PAD_LINE
    rest = total - len(b)
    if rest:
        assert rest >= len("x-p: \n")
        b += b"x-p: " + b"b" * (rest - 6) + b"\n"
    assert len(b) == total, (len(b), total)
    return b


TP = [("Content-Type", "text/plain")]
FETCH_CASES = {
    "f-baseline-text-plain": dict(status=200, headers=TP, body=GOOD_POLICY),
    "f-ct-charset-utf8": dict(status=200, headers=[("Content-Type", "text/plain; charset=utf-8")], body=GOOD_POLICY),
    "f-ct-uppercase": dict(status=200, headers=[("Content-Type", "TEXT/PLAIN")], body=GOOD_POLICY),
    "f-ct-text-html": dict(status=200, headers=[("Content-Type", "text/html")], body=GOOD_POLICY),
    "f-ct-octet-stream": dict(status=200, headers=[("Content-Type", "application/octet-stream")], body=GOOD_POLICY),
    "f-ct-absent": dict(status=200, headers=[], body=GOOD_POLICY),
    "f-ct-charset-bogus": dict(status=200, headers=[("Content-Type", "text/plain; charset=x-bogus")], body=GOOD_POLICY),
    "f-status-203": dict(status=203, headers=TP, body=GOOD_POLICY),
    "f-status-206": dict(status=206, headers=TP, body=GOOD_POLICY),
    "f-status-404-valid-body": dict(status=404, headers=TP, body=GOOD_POLICY),
    "f-redirect-301-same-host": dict(status=301, headers=TP + [("Location", "/.well-known/mta-sts.txt?redirected=1")], body=b""),
    "f-redirect-302-same-host": dict(status=302, headers=TP + [("Location", "/.well-known/mta-sts.txt?redirected=1")], body=b""),
    "f-size-65536": dict(status=200, headers=TP, body=padded(65536)),
    "f-size-65537": dict(status=200, headers=TP, body=padded(65537)),
    "f-size-65537-chunked": dict(status=200, headers=TP, body=padded(65537), chunked=True),
    "f-size-70000-chunked": dict(status=200, headers=TP, body=padded(70000), chunked=True),
    "f-bom-no-charset": dict(status=200, headers=TP, body=b"\xef\xbb\xbf" + GOOD_POLICY),
    "f-bom-charset-utf8": dict(status=200, headers=[("Content-Type", "text/plain; charset=utf-8")], body=b"\xef\xbb\xbf" + GOOD_POLICY),
    "f-bom-charset-utf-8-sig": dict(status=200, headers=[("Content-Type", "text/plain; charset=utf-8-sig")], body=b"\xef\xbb\xbf" + GOOD_POLICY),
    "f-utf8-ext-no-charset": dict(status=200, headers=TP, body=GOOD_POLICY + "x-contact: Zo\u00eb\n".encode("utf-8")),
    "f-utf8-ext-charset-utf8": dict(status=200, headers=[("Content-Type", "text/plain; charset=utf-8")], body=GOOD_POLICY + "x-contact: Zo\u00eb\n".encode("utf-8")),
    "f-latin1-byte-charset-utf8": dict(status=200, headers=[("Content-Type", "text/plain; charset=utf-8")], body=GOOD_POLICY + b"x-contact: Zo\xeb\n"),
    "f-latin1-byte-charset-latin1": dict(status=200, headers=[("Content-Type", "text/plain; charset=iso-8859-1")], body=GOOD_POLICY + b"x-contact: Zo\xeb\n"),
    "f-utf16-charset-utf16": dict(status=200, headers=[("Content-Type", "text/plain; charset=utf-16")], body=(POLICY_DIR / "bad-utf16.txt").read_bytes()),
    "f-utf16-no-charset": dict(status=200, headers=TP, body=(POLICY_DIR / "bad-utf16.txt").read_bytes()),
}
SLOW_FETCH_CASES = {
    # headers only after 5 s
    "f-slow-headers-5s": dict(status=200, headers=TP, body=GOOD_POLICY, delay_headers=5.0),
    # headers at once, body only after 5 s
    "f-slow-body-5s": dict(status=200, headers=TP, body=GOOD_POLICY, delay_body=5.0),
    # headers at 2.5 s, body at 5 s: each wait < 4 s, the sum > 4 s
    "f-slow-headers-2.5s-body-2.5s": dict(status=200, headers=TP, body=GOOD_POLICY, delay_headers=2.5, delay_body=2.5),
    # mailauth with opts.timeout=2000: headers after 3 s
    "f-slow-headers-3s-mailauth-timeout-2000": dict(status=200, headers=TP, body=GOOD_POLICY, delay_headers=3.0, ma_timeout=2000),
    # the resolver's A lookup of the policy host (inside aiohttp) takes 5 s
    "f-slow-policy-host-dns-5s": dict(status=200, headers=TP, body=GOOD_POLICY, http_dns_delay=5.0, resolver_only=True),
    # the TXT lookup takes 5 s (resolver only: mailauth's DNS timeouts are node's)
    "f-slow-txt-5s": dict(status=200, headers=TP, body=GOOD_POLICY, txt_delay=5.0, resolver_only=True),
}

# MX name vs pattern (mailauth validateMx; the resolver has no matcher of its own, it hands
# the patterns to Postfix as `match=`, see FACTS.md).
MX_CASES = [
    ("*.example.com", "a.example.com"),
    ("*.example.com", "a.b.example.com"),
    ("*.example.com", "example.com"),
    ("mx.example.com.", "mx.example.com"),
    ("mx.example.com", "mx.example.com."),
    ("MX.Example.COM", "mx.example.com"),
    ("mx.example.com", "MX.EXAMPLE.COM"),
    (".example.com", "a.example.com"),
    (".example.com", "example.com"),
    ("192.0.2.25", "192.0.2.25"),
    ("*.example.com", "*.example.com"),
    ("example.com", "mx.example.com"),
    ("*example.com", "mx.example.com"),
]


# How Postfix would match the resolver's `match=` list: Postfix (tls_client.c add_namechecks)
# hands each pattern to OpenSSL's SSL_add1_host() -- a leading "." becomes a sub-domain
# reference name -- and OpenSSL checks them against the MX *certificate*.  `openssl verify
# -verify_hostname` runs the same X509_check_host() matcher (X509_VERIFY_PARAM_set1_host).
# (certificate SANs, reference name as Postfix passes it after the resolver strips "*")
OPENSSL_NAME_CASES = [
    ("DNS:a.example.com", ".example.com"),
    ("DNS:a.b.example.com", ".example.com"),
    ("DNS:example.com", ".example.com"),
    ("DNS:*.example.com", ".example.com"),
    ("DNS:mx.example.com", "mx.example.com."),
    ("DNS:mx.example.com", "MX.Example.COM"),
    ("DNS:*.example.com", "a.b.example.com"),
    ("DNS:192.0.2.25", "192.0.2.25"),
    ("IP:192.0.2.25", "192.0.2.25"),
]


# --------------------------------------------------------------------------------------------
# Zone snippets
# --------------------------------------------------------------------------------------------

def zone_tokens(line):
    """Split one master-file line into tokens; quoted strings become bytes (RFC 1035 §5.1)."""
    toks, i, n = [], 0, len(line)
    while i < n:
        c = line[i:i + 1]
        if c in (b" ", b"\t", b"\r", b"\n"):
            i += 1
        elif c == b";":
            break
        elif c == b'"':
            i += 1
            out = bytearray()
            while i < n and line[i:i + 1] != b'"':
                if line[i:i + 1] == b"\\":
                    if re.match(rb"\d{3}", line[i + 1:i + 4]):
                        out.append(int(line[i + 1:i + 4]))
                        i += 4
                    else:
                        out += line[i + 1:i + 2]
                        i += 2
                else:
                    out += line[i:i + 1]
                    i += 1
            i += 1
            toks.append(bytes(out))
        else:
            j = i
            while j < n and line[j:j + 1] not in (b" ", b"\t", b"\r", b"\n", b";"):
                j += 1
            toks.append(line[i:j].decode("ascii"))
            i = j
    return toks


def parse_zone(data):
    """[(owner, type, rdata)]; rdata is a list of bytes strings (TXT) or a name (CNAME)."""
    rrs = []
    for raw in data.splitlines():
        toks = zone_tokens(raw)
        if not toks:
            continue
        owner = toks[0].lower().rstrip(".")
        rest = toks[1:]
        while rest and isinstance(rest[0], str) and (rest[0].isdigit() or rest[0].upper() == "IN"):
            rest = rest[1:]
        rtype = rest[0].upper()
        if rtype == "TXT":
            rrs.append((owner, "TXT", [t if isinstance(t, bytes) else t.encode() for t in rest[1:]]))
        elif rtype == "CNAME":
            rrs.append((owner, "CNAME", rest[1].lower().rstrip(".")))
    return rrs


# --------------------------------------------------------------------------------------------
# Loopback DNS server
# --------------------------------------------------------------------------------------------

QTYPES = {1: "A", 5: "CNAME", 16: "TXT", 28: "AAAA"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


class DNSServer:
    """Answers A/AAAA/TXT from self.zone: name -> {"TXT": [[bytes,...],...], "A": [ip], "CNAME": name,
    "delay": seconds}.  Unknown names get NXDOMAIN; known names without the type get NODATA.
    A CNAME is followed inside the answer, as a recursive resolver would."""

    def __init__(self):
        self.zone = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            data, addr = self.sock.recvfrom(4096)
            threading.Thread(target=self._answer, args=(data, addr), daemon=True).start()

    def _answer(self, data, addr):
        try:
            qid, flags = struct.unpack("!HH", data[:4])
            i, labels = 12, []
            while data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode("ascii"))
                i += 1 + data[i]
            qtype, qclass = struct.unpack("!HH", data[i + 1:i + 5])
            question = data[12:i + 5]
        except Exception:
            return
        name = ".".join(labels).lower()
        rtype = QTYPES.get(qtype)
        answers, rcode, owner_wire, hops = [], 0, b"\xc0\x0c", 0
        entry = self.zone.get(name)
        delay = entry.get("delay", 0) if entry else 0
        while entry is not None and "CNAME" in entry and rtype != "CNAME" and hops < 8:
            target = entry["CNAME"]
            rd = encode_name(target)
            answers.append(owner_wire + struct.pack("!HHIH", 5, 1, 300, len(rd)) + rd)
            owner_wire, entry, hops = encode_name(target), self.zone.get(target), hops + 1
        if entry is None and not answers:
            rcode = 3
        elif entry is not None:
            if rtype == "TXT":
                for strings in entry.get("TXT", []):
                    rd = b"".join(bytes([len(s)]) + s for s in strings)
                    answers.append(owner_wire + struct.pack("!HHIH", 16, 1, 300, len(rd)) + rd)
            elif rtype == "A":
                for ip in entry.get("A", []):
                    rd = socket.inet_aton(ip)
                    answers.append(owner_wire + struct.pack("!HHIH", 1, 1, 300, len(rd)) + rd)
        if delay:
            time.sleep(delay)
        rflags = 0x8000 | (flags & 0x0100) | 0x0080 | 0x0400 | rcode
        msg = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0) + question + b"".join(answers)
        self.sock.sendto(msg, addr)


# --------------------------------------------------------------------------------------------
# Loopback HTTPS server
# --------------------------------------------------------------------------------------------

class HTTPSServer:
    """Serves self.sites[host] = dict(status, headers, body, chunked, delay_headers, delay_body)."""

    def __init__(self, certfile, keyfile):
        self.sites = {}
        self.hits = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                outer.hits.setdefault(host, []).append(self.path)
                site = outer.sites.get(host)
                if site is None:
                    site = dict(status=421, headers=TP, body=b"unknown host\n")
                if "redirected=1" in self.path:
                    site = dict(status=200, headers=TP, body=GOOD_POLICY)
                if site.get("delay_headers"):
                    time.sleep(site["delay_headers"])
                reason = {200: "OK", 203: "Non-Authoritative Information", 206: "Partial Content",
                          301: "Moved Permanently", 302: "Found", 404: "Not Found"}.get(site["status"], "X")
                head = [f"HTTP/1.1 {site['status']} {reason}"]
                for k, v in site["headers"]:
                    head.append(f"{k}: {v}")
                b = site["body"]
                if site.get("chunked"):
                    head.append("Transfer-Encoding: chunked")
                else:
                    head.append(f"Content-Length: {len(b)}")
                head.append("Connection: close")
                try:
                    self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
                    self.wfile.flush()
                    if site.get("delay_body"):
                        time.sleep(site["delay_body"])
                    if site.get("chunked"):
                        for k in range(0, len(b), 4000):
                            part = b[k:k + 4000]
                            self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.wfile.write(b)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    pass
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def openssl_name_checks(tmp):
    out = []
    for n, (san, ref) in enumerate(OPENSSL_NAME_CASES):
        d = Path(tmp, f"name{n}")
        d.mkdir()
        def run(*args, check=True):
            return subprocess.run(["openssl", *args], check=check, cwd=d, capture_output=True, text=True)
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k.pem",
            "-out", "r.csr", "-subj", "/O=senders name test")
        (d / "ext.cnf").write_text(f"basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName={san}\n")
        run("x509", "-req", "-in", "r.csr", "-CA", "../ca.pem", "-CAkey", "../ca.key", "-CAcreateserial",
            "-out", "c.pem", "-days", "2", "-extfile", "ext.cnf")
        r = run("verify", "-CAfile", "../ca.pem", "-verify_hostname", ref, "c.pem", check=False)
        text = (r.stdout + r.stderr).strip().splitlines()
        verdict = "MATCH" if r.returncode == 0 else "NO MATCH"
        detail = next((l for l in text if "error" in l), "")
        out.append((f"cert {san} vs match name {ref!r}", f"{verdict} {detail}".strip()))
    return out


def make_certs(tmp, hosts):
    """A throw-away CA and one leaf certificate with every policy host as a DNS SAN."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=senders test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=senders test host")
    Path(tmp, "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName="
        + ",".join("DNS:" + h for h in hosts) + "\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf")
    return Path(tmp, "ca.pem"), Path(tmp, "leaf.pem"), Path(tmp, "leaf.key")


# --------------------------------------------------------------------------------------------
# postfix-mta-sts-resolver, pointed at the loopback servers
# --------------------------------------------------------------------------------------------

class LoopbackHTTPResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's name resolution for the policy host: every name is 127.0.0.1:<HTTPS port>."""

    def __init__(self, port, delays):
        self.port, self.delays = port, delays

    async def resolve(self, host, port=0, family=socket.AF_INET):
        if self.delays.get(host):
            await asyncio.sleep(self.delays[host])
        return [{"hostname": host, "host": "127.0.0.1", "port": self.port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        pass


class ResolverHarness:
    def __init__(self, loop, dns_port, https_port, cafile):
        self.loop, self.dns_port = loop, dns_port
        self.http_dns_delays = {}
        ssl_ctx = ssl.create_default_context(cafile=str(cafile))
        real_session = aiohttp.ClientSession
        delays = self.http_dns_delays

        def session(*args, **kwargs):
            kwargs.setdefault("connector", aiohttp.TCPConnector(resolver=LoopbackHTTPResolver(https_port, delays),
                                                                ssl=ssl_ctx))
            return real_session(*args, **kwargs)

        # resolver.py calls aiohttp.ClientSession(loop=..., timeout=ClientTimeout(total=4)); only the
        # connector (name resolution + trust anchor) is added here.
        aiohttp.ClientSession = session
        self.log = []
        self.txt_seen = []

        class Capture(logging.Handler):
            def emit(h, record):
                self.log.append(record.getMessage())

        # Record where BadSTSPolicy is raised (its str() is empty) and the text that
        # resolve() passes to parse_mta_sts_policy(); both calls still run unchanged.
        raised, texts = self.raised, self.texts = [], []
        real_init = pmsr_resolver.BadSTSPolicy.__init__

        def bad_init(exc, *a):
            f = sys._getframe(1)
            raised.append((f.f_lineno, linecache.getline(f.f_code.co_filename, f.f_lineno - 1).strip()))
            real_init(exc, *a)

        pmsr_resolver.BadSTSPolicy.__init__ = bad_init
        real_parse = pmsr_resolver.parse_mta_sts_policy

        def parse(text):
            texts.append(text)
            return real_parse(text)

        pmsr_resolver.parse_mta_sts_policy = parse
        res_logger = logging.getLogger("RES")
        res_logger.setLevel(logging.DEBUG)
        res_logger.addHandler(Capture())
        res_logger.propagate = False

    def new_resolver(self):
        r = STSResolver(loop=self.loop, timeout=pmsr_defaults.TIMEOUT)
        r._resolver = aiodns.DNSResolver(nameservers=[f"127.0.0.1:{self.dns_port}"],
                                         timeout=pmsr_defaults.TIMEOUT, loop=self.loop)
        real_query, seen = r._resolver.query, self.txt_seen

        async def query(host, qtype):
            # record what aiodns/pycares hand to resolve() (rec.text), unchanged
            answer = await real_query(host, qtype)
            seen.extend(rec.text for rec in answer)
            return answer

        r._resolver.query = query
        return r

    async def run(self, domain, cache_entry=None):
        """resolve() and the socketmap reply Postfix would get, in one fetch."""
        self.log.clear()
        self.txt_seen.clear()
        self.raised.clear()
        self.texts.clear()
        real = self.new_resolver()
        seen = {}

        class Recording:
            async def resolve(_, d, last_known_id=None):
                t0 = time.monotonic()
                seen["result"] = await real.resolve(d, last_known_id)
                seen["elapsed"] = time.monotonic() - t0
                return seen["result"]

        cfg = pmsr_utils.populate_cfg_defaults({})
        cache = InternalLRUCache()
        await cache.setup()
        if cache_entry is not None:
            await cache.set(domain, cache_entry)
        responder = STSSocketmapResponder(cfg, self.loop, cache)
        responder._default_zone = ZoneEntry(False, Recording(), True, False)
        reply = await responder.process_request(b"default " + domain.encode())
        # netstring: "<len>:<payload>,"
        payload = reply.split(b":", 1)[1][:-1].decode()
        status, pol = seen.get("result", (None, None))
        return dict(status=status.name if status else "not-called", policy=pol, socketmap=payload,
                    elapsed=seen.get("elapsed"), log=list(self.log), txt=list(self.txt_seen),
                    raised=list(self.raised), text=self.texts[-1] if self.texts else None)


def explain_policy_reject(text):
    """Which check of resolver.py:STSResolver.resolve() failed, re-read from its order
    (version, max_age int(), 0..31557600, mode present, none shortcut, mode value, mx non-empty)."""
    pol = pmsr_utils.parse_mta_sts_policy(text)
    if pol.get("version") != "STSv1":
        return f"version != 'STSv1' (got {pol.get('version')!r})"
    try:
        m = int(pol.get("max_age", "-1"))
    except ValueError:
        return f"int(max_age) failed ({pol.get('max_age')!r})"
    if not 0 <= m <= 31557600:
        return f"max_age {m} not in 0..31557600" + (" (absent -> -1)" if "max_age" not in pol else "")
    if "mode" not in pol:
        return "no 'mode' key"
    if pol["mode"] not in ("none", "testing", "enforce"):
        return f"mode {pol['mode']!r} unknown"
    if not pol["mx"]:
        return "no 'mx' key (list empty)"
    return "?"


def explain_record_reject(records):
    texts = list(pmsr_utils.filter_text(records))
    dropped = len(records) - len(texts)
    sts = [t for t in texts if t.startswith("v=STSv1")]
    note = f" ({dropped} non-ASCII record(s) dropped by filter_text)" if dropped else ""
    if len(sts) != 1:
        return f"{len(sts)} record(s) start with 'v=STSv1'{note}"
    rec = pmsr_utils.parse_mta_sts_record(sts[0])
    if rec.get("v") != "STSv1":
        return f"parsed v={rec.get('v')!r} != 'STSv1'{note}"
    if "id" not in rec:
        return f"no 'id' key in {rec!r}{note}"
    return "?"


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def fmt_resolver_policy(r):
    text = r["text"]
    p = r["policy"]
    if r["status"] == "VALID":
        pid, pol = p
        extra = sorted(k for k in pol if k not in ("version", "mode", "max_age", "mx"))
        s = f"ACCEPT mode={pol['mode']} max_age={pol['max_age']} mx={pol['mx']}"
        if extra:
            s += f" other-keys={extra}"
        return s + f" | socketmap: {r['socketmap']}"
    why = ""
    fetch_err = [l for l in r["log"] if "failed with error" in l]
    if r["raised"]:
        line, cond = r["raised"][-1]
        why = f"fetch: BadSTSPolicy raised at resolver.py:{line} after `{cond}`"
    elif fetch_err:
        msg = fetch_err[-1].split("failed with error: ", 1)[1]
        why = "fetch: " + (msg or "exception with empty str(), i.e. asyncio.TimeoutError from ClientTimeout(total=4)")
    elif text is not None:
        why = explain_policy_reject(text)
    elif not r["txt"]:
        why = "TXT lookup gave nothing (timeout/error: asyncio.wait_for(..., 4) -> FETCH_ERROR)"
    return f"REJECT {r['status']} ({why}) | socketmap: {r['socketmap']}"


def fmt_ma(res):
    if res.get("crash"):
        return "CRASH " + res["crash"]
    pol = res.get("policy") or {}
    warn = res.get("warnings") or []
    w = f" warnings={warn}" if warn else ""
    err = pol.get("error")
    if res.get("status") == "found":
        return f"ACCEPT mode={pol.get('mode')} max_age={pol.get('maxAge')} mx={pol.get('mx')} id={pol.get('id')}{w}"
    e = f"{err['code']}: {err['message']}" if err else "-"
    if res.get("reason"):
        e = f"reason {res['reason']}"
    if res.get("status") in ("errored", "renewed") and pol.get("mode") in ("enforce", "testing"):
        return (f"KEEPS CACHED POLICY status={res.get('status')} mode={pol.get('mode')} mx={pol.get('mx')} "
                f"id={pol.get('id')} ({e}){w}")
    return f"REJECT status={res.get('status')} mode={pol.get('mode')} ({e}){w}"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node-modules", default=os.environ.get("SENDERS_NODE_MODULES", "/work/senders-env/node/node_modules"),
                    help="node_modules folder that holds mailauth 7.1.0")
    ap.add_argument("--node", default="node")
    ap.add_argument("--only", help="regex on case names")
    ap.add_argument("--skip-slow", action="store_true", help="skip the timeout cases (they take ~40 s)")
    ap.add_argument("--json", help="also write every result to this file")
    args = ap.parse_args()

    # ---- the case list
    cases = []  # dict(kind, name, domain, ...)

    def add(kind, name, **kw):
        if args.only and not re.search(args.only, name):
            return
        n = len(cases)
        cases.append(dict(kind=kind, name=name, domain=f"c{n}.senders.test", **kw))

    for f in sorted(POLICY_DIR.glob("*.txt")):
        add("policy", f.name, body=f.read_bytes(), site=dict(status=200, headers=TP, body=f.read_bytes()))
    for name, b in EXTRA_POLICIES.items():
        add("policy", name, body=b, site=dict(status=200, headers=TP, body=b))
    for f in sorted(RECORD_DIR.glob("sts-*.zone")):
        add("record", f.name, zone=parse_zone(f.read_bytes()))
    for name, recs in EXTRA_RECORDS.items():
        add("record", name, zone=[("_mta-sts.example.com", "TXT", r) for r in recs])
    fetch = dict(FETCH_CASES)
    if not args.skip_slow:
        fetch.update(SLOW_FETCH_CASES)
    for name, site in fetch.items():
        add("fetch", name, site=site)
    for pat, mx in MX_CASES:
        add("mx", f"mx-pattern {pat!r} vs host {mx!r}", pattern=pat, mx=mx)
    # cache behaviour
    add("cache", "cache-expired-same-id-fetch-404", site=dict(status=404, headers=TP, body=b""),
        cached=dict(age=200000, id="1", txt_id="1"))
    add("cache", "cache-valid-new-id-fetch-404", site=dict(status=404, headers=TP, body=b""),
        cached=dict(age=120, id="1", txt_id="2"))
    add("cache", "cache-expired-new-id-fetch-404", site=dict(status=404, headers=TP, body=b""),
        cached=dict(age=200000, id="1", txt_id="2"))
    add("cache", "cache-valid-txt-removed", site=dict(status=200, headers=TP, body=GOOD_POLICY),
        cached=dict(age=120, id="1", txt_id=None))
    add("cache", "cache-valid-none-new-id-fetch-404", site=dict(status=404, headers=TP, body=b""),
        cached=dict(age=120, id="1", txt_id="2", mode="none"))

    # ---- servers
    tmp = tempfile.mkdtemp(prefix="senders-")
    hosts = [f"mta-sts.{c['domain']}" for c in cases]
    cafile, certfile, keyfile = make_certs(tmp, hosts or ["mta-sts.none.test"])
    dns = DNSServer()
    https = HTTPSServer(str(certfile), str(keyfile))

    for c in cases:
        d = c["domain"]
        dns.zone[f"mta-sts.{d}"] = {"A": ["127.0.0.1"]}
        if c["kind"] == "policy":
            https.sites[f"mta-sts.{d}"] = c["site"]
            dns.zone[f"_mta-sts.{d}"] = {"TXT": [[b"v=STSv1; id=1"]]}
        elif c["kind"] == "record":
            https.sites[f"mta-sts.{d}"] = dict(status=200, headers=TP, body=GOOD_POLICY)
            for owner, rtype, rdata in c["zone"]:
                if owner == "_mta-sts.example.com":
                    owner = f"_mta-sts.{d}"
                e = dns.zone.setdefault(owner, {})
                if rtype == "TXT":
                    e.setdefault("TXT", []).append(rdata)
                else:
                    e["CNAME"] = rdata
            c["records"] = [r for o, t, r in c["zone"] if t == "TXT"]
        elif c["kind"] == "mx":
            https.sites[f"mta-sts.{d}"] = dict(status=200, headers=TP, body=body(with_line("mx", "mx: " + c["pattern"])))
            dns.zone[f"_mta-sts.{d}"] = {"TXT": [[b"v=STSv1; id=1"]]}
        elif c["kind"] == "fetch":
            https.sites[f"mta-sts.{d}"] = c["site"]
            dns.zone[f"_mta-sts.{d}"] = {"TXT": [[b"v=STSv1; id=1"]], "delay": c["site"].get("txt_delay", 0)}
        elif c["kind"] == "cache":
            https.sites[f"mta-sts.{d}"] = c["site"]
            tid = c["cached"]["txt_id"]
            if tid is not None:
                dns.zone[f"_mta-sts.{d}"] = {"TXT": [[f"v=STSv1; id={tid}".encode()]]}

    results = {}

    # ---- postfix-mta-sts-resolver
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    harness = ResolverHarness(loop, dns.port, https.port, cafile)
    for c in cases:
        d, key = c["domain"], c["name"]
        entry = None
        if c["kind"] == "cache":
            cc = c["cached"]
            pol = dict(version="STSv1", mode=cc.get("mode", "enforce"), max_age=86400,
                       mx=["mx.example.com"] if cc.get("mode", "enforce") != "none" else [])
            entry = CacheEntry(time.time() - cc["age"], cc["id"], pol)
        if c["kind"] == "fetch" and c["site"].get("http_dns_delay"):
            harness.http_dns_delays[f"mta-sts.{d}"] = c["site"]["http_dns_delay"]
        r = loop.run_until_complete(harness.run(d, entry))
        c["resolver_raw"] = r
        if c["kind"] == "policy":
            line = fmt_resolver_policy(r)
        elif c["kind"] == "record":
            if r["status"] == "VALID":
                rec = next(t for t in pmsr_utils.filter_text(r["txt"]) if t.startswith("v=STSv1"))
                line = f"ACCEPT id={r['policy'][0]!r} | parsed={pmsr_utils.parse_mta_sts_record(rec)}"
            else:
                line = f"REJECT {r['status']} ({explain_record_reject(r['txt'])})"
            line += f" | rec.text from aiodns={r['txt']!r}"
        else:
            line = fmt_resolver_policy(r)
            if c["kind"] in ("cache", "mx"):
                line = f"resolve()={r['status']} | socketmap: {r['socketmap']}"
            if c["kind"] == "mx":
                line += " (no matcher of its own: Postfix checks the MX certificate's names against match=)"
        if c["kind"] == "fetch" and r["elapsed"] is not None and r["elapsed"] > 1:
            line += f" [resolve() took {r['elapsed']:.1f} s]"
        results[(key, "resolver")] = line

    # ---- mailauth (child node process)
    jobs = []
    for c in cases:
        if c["kind"] == "fetch" and c["site"].get("resolver_only"):
            continue
        base = dict(key=c["name"], kind=c["kind"], domain=c["domain"])
        if c["kind"] == "mx":
            base.update(pattern=c["pattern"], mx=c["mx"])
        if c["kind"] == "fetch" and c["site"].get("ma_timeout"):
            base["timeout"] = c["site"]["ma_timeout"]
        if c["kind"] == "cache":
            cc = c["cached"]
            mode = cc.get("mode", "enforce")
            base["known"] = dict(id=cc["id"], mode=mode, maxAge=86400,
                                 mx=["mx.example.com"] if mode != "none" else None,
                                 expires_in_ms=(86400 - cc["age"]) * 1000)
        jobs.append(base)
    probe = HERE / "mailauth_probe.js"
    env = dict(os.environ, NODE_PATH=args.node_modules)
    inp = json.dumps(dict(dnsPort=dns.port, httpsPort=https.port, caFile=str(cafile), jobs=jobs))
    proc = subprocess.run([args.node, str(probe)], input=inp.encode(), capture_output=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        sys.exit(f"mailauth_probe.js failed (exit {proc.returncode})")
    for raw in proc.stdout.decode().splitlines():
        if not raw.startswith("{"):
            continue
        o = json.loads(raw)
        for variant in ("lax", "strict"):
            res = o.get(variant)
            if res is None:
                continue
            label = "mailauth" if variant == "lax" else "mailauth-strict"
            if o["kind"] == "mx":
                line = f"validateMx -> valid={res['valid']}" + (f" match={res.get('match')!r}" if res.get("match") else "")
                if res.get("policyError"):
                    line = f"policy with this mx rejected by parsePolicy ({res['policyError']}); " + line
            else:
                line = fmt_ma(res)
                if res.get("elapsedMs", 0) > 1000:
                    line += f" [took {res['elapsedMs'] / 1000:.1f} s]"
            results[(o["key"], label)] = line

    openssl_rows = openssl_name_checks(tmp) if not args.only or re.search(args.only, "openssl") else []

    # ---- print
    print(f"# postfix-mta-sts-resolver {pkg_version('postfix-mta-sts-resolver')} (aiohttp {aiohttp.__version__}, "
          f"aiodns {pkg_version('aiodns')}, pycares {pkg_version('pycares')}); "
          f"mailauth {node_pkg_version(args.node_modules)} on node {node_version(args.node)}")
    width = max(len(c["name"]) for c in cases) if cases else 10
    section = None
    for c in cases:
        if c["kind"] != section:
            section = c["kind"]
            print(f"\n## {section}")
        for label in ("resolver", "mailauth", "mailauth-strict"):
            v = results.get((c["name"], label))
            if v is not None:
                print(f"{c['name']:<{width}}  {label:<15}  {v}")
    if openssl_rows:
        print(f"\n## postfix name check (OpenSSL {ssl_version()} X509_check_host via `openssl verify -verify_hostname`)")
        w2 = max(len(a) for a, _ in openssl_rows)
        for a, b in openssl_rows:
            print(f"{a:<{w2}}  {'openssl':<15}  {b}")
            results[(a, "openssl")] = b
    if args.json:
        out = {f"{k[0]} :: {k[1]}": v for k, v in results.items()}
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    loop.close()
    shutil.rmtree(tmp, ignore_errors=True)


def pkg_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


def node_pkg_version(nm):
    try:
        return json.loads(Path(nm, "mailauth", "package.json").read_text())["version"]
    except Exception:
        return "?"


def ssl_version():
    try:
        return subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.split()[1]
    except Exception:
        return "?"


def node_version(node):
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
