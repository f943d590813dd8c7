'use strict';
// Runs mailauth's MTA-STS code (lib/mta-sts.js of mailauth 7.1.0) on the jobs that run.py sends
// on stdin, against run.py's loopback DNS and HTTPS servers, and prints one JSON line per job.
// Started by run.py (with NODE_PATH pointing at the node_modules that holds mailauth); not a
// stand-alone test.
//
// Injection, nothing else is changed:
//  * opts.resolver (a documented getPolicy option): node's own dns.promises.Resolver, pointed at
//    run.py's DNS server, so TXT answers arrive as node returns them (string[][] per RRset).
//  * https.request: the port (mailauth hard-codes 443) and the test CA are added to the options
//    mailauth builds; host, servername, checkServerIdentity, rejectUnauthorized stay as they are.

const https = require('node:https');
const dns = require('node:dns');
const fs = require('node:fs');

const mtaSts = require('mailauth/lib/mta-sts');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const ca = fs.readFileSync(input.caFile);

const realRequest = https.request;
https.request = (options, cb) => realRequest(Object.assign({}, options, { port: input.httpsPort, ca }), cb);

const resolverObj = new dns.promises.Resolver({ timeout: 3000, tries: 1 });
resolverObj.setServers([`127.0.0.1:${input.dnsPort}`]);
const resolver = (name, type) => resolverObj.resolve(name, type);

const plainError = err =>
    err
        ? {
              code: err.code,
              message: err.message
          }
        : undefined;

const plainResult = res => {
    let out = Object.assign({}, res);
    out.policy = Object.assign({}, res.policy);
    if (out.policy.error) {
        out.policy.error = plainError(out.policy.error);
    }
    return out;
};

async function runGetPolicy(job, strict) {
    let known = null;
    if (job.known) {
        known = {
            id: job.known.id,
            mode: job.known.mode,
            maxAge: job.known.maxAge,
            expires: new Date(Date.now() + job.known.expires_in_ms).toISOString()
        };
        if (job.known.mx) {
            known.mx = job.known.mx;
        }
    }
    let opts = { resolver, strict };
    if (job.timeout) {
        opts.timeout = job.timeout;
    }
    let t0 = Date.now();
    try {
        let res = await mtaSts.getPolicy(job.domain, known, opts);
        let out = plainResult(res);
        out.elapsedMs = Date.now() - t0;
        if (job.kind === 'record' && res.status === 'not_found' && !known) {
            // getPolicy() drops the reason when there is no cached policy; with a valid cached
            // policy it returns the discovery reason as the error code, so ask again that way.
            let probe = await mtaSts.getPolicy(job.domain, {
                id: 'cachedprobe', mode: 'testing', mx: ['x.invalid'], maxAge: 86400,
                expires: new Date(Date.now() + 3600 * 1000).toISOString()
            }, { resolver, strict });
            out.reason = probe.policy && probe.policy.error ? probe.policy.error.code : probe.status;
        }
        return out;
    } catch (err) {
        return { crash: `${err.code || ''} ${err.message}`, elapsedMs: Date.now() - t0 };
    }
}

function runMx(job, strict) {
    let policyError;
    let text = `version: STSv1\nmode: enforce\nmx: ${job.pattern}\nmax_age: 86400\n`;
    try {
        mtaSts.parsePolicy(text, { strict });
    } catch (err) {
        policyError = `${err.code}: ${err.message}`;
    }
    let res = mtaSts.validateMx(job.mx, { mode: 'enforce', mx: [job.pattern] }, { strict });
    return Object.assign({ policyError }, res);
}

(async () => {
    for (let job of input.jobs) {
        let out = { key: job.key, kind: job.kind };
        for (let [label, strict] of [
            ['lax', false],
            ['strict', true]
        ]) {
            out[label] = job.kind === 'mx' ? runMx(job, strict) : await runGetPolicy(job, strict);
        }
        process.stdout.write(JSON.stringify(out) + '\n');
    }
})().catch(err => {
    process.stderr.write(String((err && err.stack) || err) + '\n');
    process.exit(1);
});
