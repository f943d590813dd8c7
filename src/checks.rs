//! The one registry of checks: every id, its severity, title, hint, RFC section and
//! RFC 8460 result-type. One id, one severity: a harder case gets its own id.
//!
//! Ids are public API (README, JSON, `--fail-on` scripts): never rename one.
//! Find where a check fires with `grep -rn 'Check::VariantName' src`.

use std::fmt;

use serde::Serialize;

/// How much a finding matters, by its consequence (the README states the rule). Ordered,
/// so "the worst" is simply `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Facts and advice.
    Info,
    /// Risk or lost visibility: reports will not arrive, a certificate expires soon, one
    /// MX is unreachable, some senders read it differently.
    Warning,
    /// A sender that implements RFC 8461 would refuse mail, ignore the policy, or could be
    /// attacked: the protection asked for is not there.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The RFC 8460 §4.3 result-type a reporting sender would emit for a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultType {
    StarttlsNotSupported,
    CertificateHostMismatch,
    CertificateExpired,
    CertificateNotTrusted,
    ValidationFailure,
    TlsaInvalid,
    StsPolicyFetchError,
    StsPolicyInvalid,
    StsWebpkiInvalid,
}

impl ResultType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultType::StarttlsNotSupported => "starttls-not-supported",
            ResultType::CertificateHostMismatch => "certificate-host-mismatch",
            ResultType::CertificateExpired => "certificate-expired",
            ResultType::CertificateNotTrusted => "certificate-not-trusted",
            ResultType::ValidationFailure => "validation-failure",
            ResultType::TlsaInvalid => "tlsa-invalid",
            ResultType::StsPolicyFetchError => "sts-policy-fetch-error",
            ResultType::StsPolicyInvalid => "sts-policy-invalid",
            ResultType::StsWebpkiInvalid => "sts-webpki-invalid",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use ResultType::*;
use Severity::*;

/// Static facts about a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    pub severity: Severity,
    /// What the check is about, in a few words.
    pub title: &'static str,
    /// How to fix it, when nothing more specific is known.
    pub hint: &'static str,
    /// Where the requirement comes from.
    pub rfc: &'static str,
    /// What a reporting sender would emit (RFC 8460 §4.3), if anything.
    pub result_type: Option<ResultType>,
}

const fn c(
    id: &'static str,
    severity: Severity,
    title: &'static str,
    hint: &'static str,
    rfc: &'static str,
    result_type: Option<ResultType>,
) -> CheckInfo {
    CheckInfo {
        id,
        severity,
        title,
        hint,
        rfc,
        result_type,
    }
}

macro_rules! checks {
    ($($variant:ident,)*) => {
        /// Every check the tool can report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Check { $($variant,)* }

        impl Check {
            /// All checks, in registry (stage) order.
            pub const ALL: &'static [Check] = &[$(Check::$variant,)*];
        }
    };
}

checks! {
    // DNS, general
    DnsError,
    // `_mta-sts` TXT record (RFC 8461 §3.1)
    StsTxtAbsent,
    StsTxtVersion,
    StsTxtMultiple,
    StsTxtCaseVariant,
    StsTxtPrefixWsp,
    StsTxtIdMissing,
    StsTxtIdSyntax,
    StsTxtIdDuplicate,
    StsTxtFieldSyntax,
    StsTxtNonAscii,
    StsTxtExtension,
    StsTxtMultistring,
    StsTxtOtherRecords,
    StsTxtCname,
    StsTxtMisplaced,
    StsTxtUnpublished,
    // `_smtp._tls` TXT record (RFC 8460 §3)
    TlsrptAbsent,
    TlsrptVersion,
    TlsrptPrefixWsp,
    TlsrptMultiple,
    TlsrptSyntax,
    TlsrptRuaMissing,
    TlsrptRuaScheme,
    TlsrptRuaSyntax,
    TlsrptRuaDuplicate,
    TlsrptExtension,
    TlsrptMultistring,
    TlsrptWrongName,
    // MX record set (RFC 5321 §5.1)
    MxNxdomain,
    MxNull,
    MxImplicit,
    MxTargetIp,
    MxTargetCname,
    MxHostUnresolvable,
    // Policy host and fetch (RFC 8461 §3.2, §3.3)
    StsHostDns,
    StsHostConnect,
    StsHostTls,
    StsHostCertUntrusted,
    StsHostCertExpired,
    StsHostCertNotYetValid,
    StsHostCertName,
    StsHostCertExpiring,
    StsFetchTimeout,
    StsFetchSlow,
    StsFetchHttp,
    StsFetchRedirect,
    StsFetchStatus,
    StsFetchMediaType,
    StsFetchCharset,
    StsFetchNonAscii,
    StsFetchSize,
    StsFetchInconsistent,
    StsFetchBotBlock,
    // Policy body (RFC 8461 §3.2)
    StsPolicyEncoding,
    StsPolicyHtml,
    StsPolicyLineEnding,
    StsPolicyBlankLine,
    StsPolicyTrailingBlank,
    StsPolicyComment,
    StsPolicyLeadingWsp,
    StsPolicyColonWsp,
    StsPolicyKeyCase,
    StsPolicyBadLine,
    StsPolicyNoFields,
    StsPolicyVersion,
    StsPolicyMode,
    StsPolicyModeTesting,
    StsPolicyModeNone,
    StsPolicyMaxAgeMissing,
    StsPolicyMaxAgeSyntax,
    StsPolicyMaxAgeRange,
    StsPolicyMaxAgeZero,
    StsPolicyMaxAgeShort,
    StsPolicyMaxAgeTestingLong,
    StsPolicyMxMissing,
    StsPolicyMxSyntax,
    StsPolicyMxPerLine,
    StsPolicyMxUlabel,
    StsPolicyMxIp,
    StsPolicyMxWildcardBroad,
    StsPolicyMxStale,
    StsPolicyDupConflict,
    StsPolicyDupField,
    StsPolicyUnknownField,
    // MX hosts against the policy (RFC 8461 §4.1)
    StsMxUnmatched,
    StsMxWildcardDepth,
    StsEnforceMxRefused,
    // SMTP, STARTTLS and TLS on every MX address (RFC 8461 §4.2, §7; RFC 3207; RFC 5321)
    SmtpConnectRefused,
    SmtpConnectTimeout,
    SmtpConnectFailed,
    SmtpBannerTimeout,
    SmtpGreeting,
    SmtpReplySyntax,
    SmtpReplyLimit,
    SmtpTimeout,
    SmtpClosed,
    SmtpEhlo,
    SmtpStarttlsMissing,
    SmtpStarttlsReply,
    SmtpStarttlsInjection,
    SmtpTlsHandshake,
    SmtpTlsVersionMin,
    SmtpTlsCipher,
    SmtpEhloAfterTls,
    SmtpCertUntrusted,
    SmtpCertSelfSigned,
    SmtpCertChainIncomplete,
    SmtpCertExpired,
    SmtpCertNotYetValid,
    SmtpCertHostname,
    SmtpCertExpiring,
    SmtpCertWeakKey,
    SmtpCertSha1,
    SmtpCertChainLimit,
    // DANE (RFC 8461 §2)
    DaneTlsaPresent,
    DaneTlsaMismatch,
    // The vantage point: limits of where the audit runs, never the domain's fault
    VantageDnsUnreachable,
    VantagePort25Blocked,
    VantageFamilyUnreachable,
    VantageFamilySkipped,
    AuditDeadline,
    AuditLimit,
    AuditMxSkipped,
    // TLS-RPT aggregate reports read by `mtasts report` (RFC 8460 §4, §5)
    ReportUnreadable,
    ReportLimit,
    ReportDuplicate,
    ReportCountMismatch,
    ReportMxHostString,
    ReportAdditionalInfoUri,
    ReportDatetimeNoZone,
    ReportDetailIncomplete,
    ReportContactMissing,
    ReportPolicyDomainMissing,
    ReportPolicyStringEncoded,
    ReportCountString,
    ReportResultTypeUnregistered,
    ReportEnvelopeMismatch,
    // `mtasts init`: drafting a first deployment from the live MX hosts
    InitNoMxHost,
    InitMxUnlistable,
    InitMxFailing,
    InitWildcard,
    InitRewrite,
    InitTlsrptNew,
    // Plan mode and drift: the planned state against the live one, this run against the
    // last (RFC 8461 §3.1, §5.1: senders keep a cached policy until max_age)
    PlanMxUncovered,
    PlanMxUncoveredTesting,
    PlanMxRemovedFromPolicy,
    PlanPolicyIdUnchanged,
    PlanEnforceMxFailing,
    PlanMaxAgeShrunk,
    PlanIdChangedPolicySame,
    DriftPolicyIdUnchanged,
    DriftIdChangedPolicySame,
    DriftMxChanged,
    DriftModeChanged,
    DriftModeDowngraded,
    DriftCertReplaced,
    DriftCertExpiring,
}

/// What a finding says about enforce-readiness: whether a sender honouring the policy in
/// enforce mode would still deliver what it delivers today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Such a sender would refuse the MX (or, for the records and the policy, have no
    /// policy to enforce): the RFC 8460 result-type it would report says so.
    Refuses,
    /// What such a sender would do could not be seen from here: the address could not be
    /// reached or tested, something went unchecked, or there is nothing to deliver to.
    Unknown,
    /// No bearing on it.
    None,
}

impl Check {
    /// How this check bears on enforce-readiness (see [`Readiness`]).
    pub fn readiness(self) -> Readiness {
        use Check::*;
        match self {
            DnsError
            | MxNxdomain
            | MxNull
            | SmtpConnectRefused
            | SmtpConnectTimeout
            | SmtpConnectFailed
            | SmtpBannerTimeout
            | SmtpGreeting
            | SmtpReplySyntax
            | SmtpReplyLimit
            | SmtpTimeout
            | SmtpClosed
            | SmtpTlsCipher
            | StsPolicyModeNone
            | VantageDnsUnreachable
            | VantagePort25Blocked
            | VantageFamilyUnreachable
            | VantageFamilySkipped
            | AuditDeadline
            | AuditLimit
            | AuditMxSkipped => Readiness::Unknown,
            _ if self.info().result_type.is_some() => Readiness::Refuses,
            _ => Readiness::None,
        }
    }

    pub fn id(self) -> &'static str {
        self.info().id
    }

    /// The check with this id, if any.
    pub fn from_id(id: &str) -> Option<Check> {
        Check::ALL.iter().copied().find(|c| c.id() == id)
    }

    pub fn info(self) -> CheckInfo {
        use Check::*;
        match self {
            DnsError => c(
                "dns-error",
                Error,
                "DNS lookup failed",
                "A lookup failed with SERVFAIL, REFUSED or a timeout: that is not the same as the record being absent. Check the zone's nameservers (and DNSSEC signatures) answer for the name, then audit again.",
                "RFC 8461 §3.1, §3.3; RFC 8460 §3",
                None,
            ),
            StsTxtAbsent => c(
                "sts-txt-absent",
                Error,
                "no MTA-STS TXT record",
                "Publish a TXT record at _mta-sts.DOMAIN such as \"v=STSv1; id=20240101T000000\". Without it senders never look for a policy.",
                "RFC 8461 §3, §3.1",
                None,
            ),
            StsTxtVersion => c(
                "sts-txt-version",
                Error,
                "TXT record does not begin with v=STSv1",
                "The record must begin with exactly \"v=STSv1;\" (case-sensitive, no space around '='). Senders discard any other record.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtMultiple => c(
                "sts-txt-multiple",
                Error,
                "several MTA-STS TXT records",
                "Keep exactly one TXT record beginning with v=STSv1 at _mta-sts.DOMAIN: with more than one, senders act as if there were no policy.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtCaseVariant => c(
                "sts-txt-case-variant",
                Error,
                "a second record with v=STSv1 in another case",
                "Remove the other record (or correct it and keep only one): some senders count it as a second MTA-STS record, and with two they use no policy.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtPrefixWsp => c(
                "sts-txt-prefix-wsp",
                Warning,
                "whitespace before the first ';' of the TXT record",
                "Write \"v=STSv1;\" without a space before the ';': senders that filter on the literal prefix \"v=STSv1;\" discard this record.",
                "RFC 8461 §3.1; erratum 6285",
                None,
            ),
            StsTxtIdMissing => c(
                "sts-txt-id-missing",
                Error,
                "TXT record has no id",
                "Add an id field, e.g. \"v=STSv1; id=20240101T000000\", and change it whenever the policy changes.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtIdSyntax => c(
                "sts-txt-id-syntax",
                Error,
                "invalid id in the TXT record",
                "The id must be 1 to 32 letters and digits only (no '-', '.', ':' or spaces), e.g. id=20240101T000000.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtIdDuplicate => c(
                "sts-txt-id-duplicate",
                Warning,
                "id given more than once",
                "Keep a single id field: senders disagree on which of several ids counts, and so on when the policy changed.",
                "RFC 8461 §3.2",
                None,
            ),
            StsTxtFieldSyntax => c(
                "sts-txt-field-syntax",
                Error,
                "malformed field in the TXT record",
                "Separate fields with ';' and write each one as name=value, with no spaces or '=' in the value. Senders treat a malformed record as no policy.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtNonAscii => c(
                "sts-txt-non-ascii",
                Error,
                "non-ASCII or control characters in the TXT record",
                "Retype the record in plain ASCII: smart quotes and invisible characters pasted from documents break it.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtExtension => c(
                "sts-txt-extension",
                Info,
                "unknown extension field in the TXT record",
                "Senders ignore fields other than v and id; remove it unless you rely on it.",
                "RFC 8461 §3.1, §3.2",
                None,
            ),
            StsTxtMultistring => c(
                "sts-txt-multistring",
                Info,
                "TXT record split into several strings",
                "Senders join the strings without adding spaces; make sure the joined text is what you meant.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtOtherRecords => c(
                "sts-txt-other-records",
                Info,
                "unrelated TXT records at _mta-sts",
                "Senders ignore TXT records that do not begin with v=STSv1; remove them if they were put there by mistake.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtCname => c(
                "sts-txt-cname",
                Info,
                "_mta-sts is a CNAME",
                "Delegating the record with a CNAME is allowed; the policy is still fetched from mta-sts.DOMAIN, never from the CNAME target.",
                "RFC 8461 §3.1, §8.2",
                None,
            ),
            StsTxtMisplaced => c(
                "sts-txt-misplaced",
                Error,
                "MTA-STS record published at the wrong name",
                "Move the record to _mta-sts.DOMAIN; senders look nowhere else.",
                "RFC 8461 §3.1",
                None,
            ),
            StsTxtUnpublished => c(
                "sts-txt-unpublished",
                Info,
                "no MTA-STS TXT record yet (a draft is judged)",
                "Publish the policy file first, then the TXT record (\"v=STSv1; id=...\"): senders fetch the policy as soon as they see the record.",
                "RFC 8461 §3.1, §3.2",
                None,
            ),
            TlsrptAbsent => c(
                "tlsrpt-absent",
                Warning,
                "no TLS-RPT record",
                "Publish a TXT record at _smtp._tls.DOMAIN such as \"v=TLSRPTv1; rua=mailto:tlsrpt@DOMAIN\" so that senders report TLS failures to you.",
                "RFC 8460 §3; RFC 8461 §5",
                None,
            ),
            TlsrptVersion => c(
                "tlsrpt-version",
                Warning,
                "TLS-RPT record does not begin with v=TLSRPTv1",
                "The record must begin with exactly \"v=TLSRPTv1;\" (case-sensitive). Senders discard any other record.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptPrefixWsp => c(
                "tlsrpt-prefix-wsp",
                Warning,
                "whitespace before the first ';' of the TLS-RPT record",
                "Write \"v=TLSRPTv1;\" without a space before the ';': senders that filter on the literal prefix \"v=TLSRPTv1;\" discard this record.",
                "RFC 8460 §3 (as RFC 8461 erratum 6285)",
                None,
            ),
            TlsrptMultiple => c(
                "tlsrpt-multiple",
                Warning,
                "several TLS-RPT records",
                "Keep exactly one record beginning with v=TLSRPTv1; put several report addresses in one rua= separated by commas.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptSyntax => c(
                "tlsrpt-syntax",
                Warning,
                "malformed TLS-RPT record",
                "Separate fields with ';' and write each as name=value in plain ASCII. Senders ignore a malformed record.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptRuaMissing => c(
                "tlsrpt-rua-missing",
                Warning,
                "TLS-RPT record has no usable rua",
                "Add rua= with a mailto: or https: URI where reports should go; senders send reports nowhere else.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptRuaScheme => c(
                "tlsrpt-rua-scheme",
                Warning,
                "rua URI with an unsupported scheme",
                "Senders send reports only to mailto: and https: URIs and skip this one: use mailto:address or https://url.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptRuaSyntax => c(
                "tlsrpt-rua-syntax",
                Warning,
                "malformed rua URI",
                "Write each URI in full (mailto:user@example.com or https://host/path), separate several with ',', and percent-encode ',', '!' and ';' inside a URI.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptRuaDuplicate => c(
                "tlsrpt-rua-duplicate",
                Warning,
                "rua given more than once",
                "Put all URIs in one rua= field separated by commas; a second rua= is not defined.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptExtension => c(
                "tlsrpt-extension",
                Info,
                "unknown extension field in the TLS-RPT record",
                "Senders ignore fields other than v and rua; remove it unless you rely on it.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptMultistring => c(
                "tlsrpt-multistring",
                Info,
                "TLS-RPT record split into several strings",
                "Senders join the strings without adding spaces; make sure the joined text is what you meant.",
                "RFC 8460 §3",
                None,
            ),
            TlsrptWrongName => c(
                "tlsrpt-wrong-name",
                Warning,
                "TLS-RPT record published at the wrong name",
                "Move the record to _smtp._tls.DOMAIN; senders look nowhere else.",
                "RFC 8460 §3",
                None,
            ),
            MxNxdomain => c(
                "mx-nxdomain",
                Error,
                "the domain does not exist",
                "The domain has no DNS records at all (NXDOMAIN): check the spelling, or the delegation of the zone.",
                "RFC 5321 §5.1",
                None,
            ),
            MxNull => c(
                "mx-null",
                Info,
                "null MX: the domain accepts no mail",
                "A null MX (\"MX 0 .\") says the domain receives no mail, so MTA-STS protects nothing here.",
                "RFC 7505",
                None,
            ),
            MxImplicit => c(
                "mx-implicit",
                Warning,
                "no MX records: mail goes to the domain's own address",
                "Publish MX records explicitly; senders fall back to the domain's A/AAAA (implicit MX), and the policy must then list the domain itself.",
                "RFC 5321 §5.1",
                None,
            ),
            MxTargetIp => c(
                "mx-target-ip",
                Error,
                "MX target is an IP address",
                "An MX record must name a host, not an address: create a name (e.g. mx.DOMAIN) with an A/AAAA record and point the MX at it.",
                "RFC 5321 §5.1",
                None,
            ),
            MxTargetCname => c(
                "mx-target-cname",
                Warning,
                "MX target is a CNAME",
                "Point the MX at the canonical name: senders differ in which name they match against the policy and the certificate.",
                "RFC 5321 §5.1",
                None,
            ),
            MxHostUnresolvable => c(
                "mx-host-unresolvable",
                Warning,
                "MX host has no address",
                "Give the MX host an A and/or AAAA record, or remove the MX record.",
                "RFC 5321 §5.1",
                None,
            ),
            StsHostDns => c(
                "sts-host-dns",
                Error,
                "policy host does not resolve",
                "Create A/AAAA records for mta-sts.DOMAIN pointing at a web server that serves the policy.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsHostConnect => c(
                "sts-host-connect",
                Error,
                "cannot connect to the policy host",
                "Make mta-sts.DOMAIN accept HTTPS connections on port 443 from the internet, on every address it resolves to.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsHostTls => c(
                "sts-host-tls",
                Error,
                "TLS with the policy host failed",
                "The HTTPS server must complete a TLS 1.2 or 1.3 handshake for the name mta-sts.DOMAIN (sent as SNI).",
                "RFC 8461 §3.3, §7.1",
                Some(StsPolicyFetchError),
            ),
            StsHostCertUntrusted => c(
                "sts-host-cert-untrusted",
                Error,
                "policy host certificate not trusted",
                "Serve a certificate from a public CA with its complete chain (leaf and intermediates): senders reject self-signed and private-CA certificates.",
                "RFC 8461 §3.3",
                Some(StsWebpkiInvalid),
            ),
            StsHostCertExpired => c(
                "sts-host-cert-expired",
                Error,
                "policy host certificate expired",
                "Renew the certificate of mta-sts.DOMAIN and automate renewal.",
                "RFC 8461 §3.3",
                Some(StsWebpkiInvalid),
            ),
            StsHostCertNotYetValid => c(
                "sts-host-cert-not-yet-valid",
                Error,
                "policy host certificate not yet valid",
                "The certificate's validity starts in the future: check the server clock and the certificate.",
                "RFC 8461 §3.3",
                Some(StsWebpkiInvalid),
            ),
            StsHostCertName => c(
                "sts-host-cert-name",
                Error,
                "policy host certificate does not cover mta-sts.DOMAIN",
                "Add mta-sts.DOMAIN to the certificate's subject alternative names (the CN is not used); *.DOMAIN also covers it.",
                "RFC 8461 §3.3; RFC 6125 §6.4",
                Some(StsWebpkiInvalid),
            ),
            StsHostCertExpiring => c(
                "sts-host-cert-expiring",
                Warning,
                "policy host certificate expires soon",
                "Renew the certificate of mta-sts.DOMAIN before it expires, and check that renewal is automated.",
                "RFC 8461 §3.3",
                None,
            ),
            StsFetchTimeout => c(
                "sts-fetch-timeout",
                Error,
                "policy fetch timed out",
                "The policy host must answer promptly: some senders give up after a few seconds.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsFetchSlow => c(
                "sts-fetch-slow",
                Warning,
                "policy fetch slower than some senders wait",
                "Serve the policy within a second or two, host lookup, connection, TLS and response together: some senders give up on the whole fetch after 4 seconds and have no policy for the domain.",
                "RFC 8461 §3.3",
                None,
            ),
            StsFetchHttp => c(
                "sts-fetch-http",
                Error,
                "broken HTTP response from the policy host",
                "The server must send a well-formed HTTP/1.1 response with bounded headers.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsFetchRedirect => c(
                "sts-fetch-redirect",
                Error,
                "policy fetch redirected",
                "Serve the policy directly at https://mta-sts.DOMAIN/.well-known/mta-sts.txt with status 200: senders never follow redirects.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsFetchStatus => c(
                "sts-fetch-status",
                Error,
                "policy fetch did not return 200",
                "Serve the policy at /.well-known/mta-sts.txt with status 200 OK (static hosts may hide dot-directories: check the deployment).",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsFetchMediaType => c(
                "sts-fetch-media-type",
                Error,
                "policy not served as text/plain",
                "Serve the policy with \"Content-Type: text/plain\" (optionally \"; charset=utf-8\"): strict senders drop other media types.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsFetchCharset => c(
                "sts-fetch-charset",
                Warning,
                "unexpected charset on the policy",
                "Use \"Content-Type: text/plain; charset=utf-8\" (or us-ascii), or no charset at all.",
                "RFC 8461 §3.2",
                None,
            ),
            StsFetchNonAscii => c(
                "sts-fetch-non-ascii",
                Error,
                "non-ASCII policy not declared charset=utf-8",
                "Serve the policy with \"Content-Type: text/plain; charset=utf-8\", or keep it plain ASCII: some senders decode a policy without a charset as ASCII and have no policy when that fails.",
                "RFC 8461 §3.2",
                Some(StsPolicyFetchError),
            ),
            StsFetchSize => c(
                "sts-fetch-size",
                Error,
                "policy larger than 64 KiB",
                "Senders read at most 64 KiB: serve the policy file itself, not a page or an endless stream.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsFetchInconsistent => c(
                "sts-fetch-inconsistent",
                Error,
                "policy host addresses disagree",
                "Every address of mta-sts.DOMAIN must serve the same policy: a stale node or a broken address behind a load balancer or CDN breaks senders at random.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsFetchBotBlock => c(
                "sts-fetch-bot-block",
                Error,
                "policy served to browsers only",
                "A web firewall or bot protection blocks non-browser clients: exempt /.well-known/mta-sts.txt from challenges and User-Agent filtering.",
                "RFC 8461 §3.3",
                Some(StsPolicyFetchError),
            ),
            StsPolicyEncoding => c(
                "sts-policy-encoding",
                Error,
                "policy is not plain UTF-8 text",
                "Save the policy as plain ASCII/UTF-8 without a byte-order mark, NUL bytes or UTF-16.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyHtml => c(
                "sts-policy-html",
                Error,
                "policy URL serves HTML or JSON",
                "The URL returns a web page (often a catch-all route or error page), not the policy: serve the plain-text policy file.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyLineEnding => c(
                "sts-policy-line-ending",
                Error,
                "invalid line ending in the policy",
                "End lines with LF or CRLF; a bare CR (or other separator) is not a line break to senders.",
                "RFC 8461 §3.2; erratum 6253",
                Some(StsPolicyInvalid),
            ),
            StsPolicyBlankLine => c(
                "sts-policy-blank-line",
                Warning,
                "blank line in the policy",
                "Remove the empty lines: the grammar has none, and while most senders skip them, a strict parser (mox) rejects the whole policy.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyTrailingBlank => c(
                "sts-policy-trailing-blank",
                Info,
                "blank lines after the last field",
                "Remove the empty lines at the end: at most one line break may end the policy.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyComment => c(
                "sts-policy-comment",
                Warning,
                "comment line in the policy",
                "Remove the comment line: the grammar has no comments, and while most senders skip it, a strict parser (mox) rejects the whole policy.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyLeadingWsp => c(
                "sts-policy-leading-wsp",
                Error,
                "policy line starts with whitespace",
                "Start every line with its field name, no indentation.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyColonWsp => c(
                "sts-policy-colon-wsp",
                Error,
                "whitespace before ':' in the policy",
                "Write \"name: value\" with no space before the colon.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyKeyCase => c(
                "sts-policy-key-case",
                Error,
                "policy field name in the wrong case or spelling",
                "Field names are case-sensitive: version, mode, mx, max_age (with an underscore).",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyBadLine => c(
                "sts-policy-bad-line",
                Warning,
                "policy line that is not a field",
                "Write every line as \"name: value\": senders skip other lines, and a strict parser (mox) rejects the whole policy for them.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyNoFields => c(
                "sts-policy-no-fields",
                Error,
                "the body holds no policy field",
                "The URL answers 200 with some other text (an error page, an empty file): serve the policy itself.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyVersion => c(
                "sts-policy-version",
                Error,
                "policy version missing or wrong",
                "Include the line \"version: STSv1\" exactly.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMode => c(
                "sts-policy-mode",
                Error,
                "policy mode missing or wrong",
                "Include \"mode: testing\", \"mode: enforce\" or \"mode: none\" (lower case, exactly).",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyModeTesting => c(
                "sts-policy-mode-testing",
                Info,
                "policy is in testing mode",
                "In testing mode senders deliver even when validation fails and only report it. Switch to \"mode: enforce\" (and change the TXT id) once reports show no failures.",
                "RFC 8461 §5",
                None,
            ),
            StsPolicyModeNone => c(
                "sts-policy-mode-none",
                Warning,
                "policy mode is none",
                "mode: none disables MTA-STS. If you are removing MTA-STS, keep serving this policy and the TXT record until every previously served max_age has passed; otherwise use testing or enforce.",
                "RFC 8461 §5, §8.3",
                None,
            ),
            StsPolicyMaxAgeMissing => c(
                "sts-policy-max-age-missing",
                Error,
                "policy has no max_age",
                "Add \"max_age: 604800\" (or longer once stable) to the policy.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMaxAgeSyntax => c(
                "sts-policy-max-age-syntax",
                Error,
                "max_age is not a plain number",
                "Write max_age as plain seconds, digits only (e.g. 604800), without units or signs.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMaxAgeRange => c(
                "sts-policy-max-age-range",
                Error,
                "max_age above one year",
                "Use at most 31557600 seconds (one year); some senders reject larger values.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMaxAgeZero => c(
                "sts-policy-max-age-zero",
                Warning,
                "max_age is 0",
                "With max_age 0 senders cache nothing, so there is no downgrade protection, and some senders reject it: use at least 86400.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyMaxAgeShort => c(
                "sts-policy-max-age-short",
                Warning,
                "max_age shorter than a day",
                "Short max_age values give little protection against downgrade attacks: use at least 86400, and weeks once the policy is stable.",
                "RFC 8461 §3.2, §10.2",
                None,
            ),
            StsPolicyMaxAgeTestingLong => c(
                "sts-policy-max-age-testing-long",
                Info,
                "long max_age while testing",
                "Many guides recommend a short max_age (up to two weeks) while testing, so a mistake does not stay cached; raise it after switching to enforce.",
                "RFC 8461 §3.2, §8.3",
                None,
            ),
            StsPolicyMxMissing => c(
                "sts-policy-mx-missing",
                Error,
                "policy has no mx line",
                "List every MX host with its own \"mx:\" line (wildcards like *.example.com allowed); only mode none may omit them.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMxSyntax => c(
                "sts-policy-mx-syntax",
                Error,
                "invalid mx pattern",
                "An mx value is a host name, or \"*.\" followed by a host name: no trailing dot, no inner or partial wildcard, no port, URL or comment.",
                "RFC 8461 §3.2, §4.1",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMxPerLine => c(
                "sts-policy-mx-per-line",
                Error,
                "several hosts on one mx line",
                "Give each MX host its own \"mx:\" line.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMxUlabel => c(
                "sts-policy-mx-ulabel",
                Error,
                "non-ASCII mx pattern",
                "Write internationalized names as A-labels (punycode, xn--...), not Unicode.",
                "RFC 8461 §3.2",
                Some(StsPolicyInvalid),
            ),
            StsPolicyMxIp => c(
                "sts-policy-mx-ip",
                Warning,
                "mx pattern is an IP address",
                "Patterns are matched against MX host names, never addresses: list the MX host name instead.",
                "RFC 8461 §3.2, §4.1",
                None,
            ),
            StsPolicyMxWildcardBroad => c(
                "sts-policy-mx-wildcard-broad",
                Warning,
                "over-broad mx wildcard",
                "The wildcard accepts any host with a valid certificate under a shared suffix as your MX: list your own MX names or a narrower wildcard.",
                "RFC 8461 §10.4",
                None,
            ),
            StsPolicyMxStale => c(
                "sts-policy-mx-stale",
                Info,
                "mx pattern matches no MX host",
                "Remove patterns for hosts that are no longer MX hosts (or fix their spelling): keep the policy as tight as the MX set.",
                "RFC 8461 §10.4",
                None,
            ),
            StsPolicyDupConflict => c(
                "sts-policy-dup-conflict",
                Error,
                "field given twice with different values",
                "Keep one line for this field (only mx repeats): senders disagree on which of the values counts.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyDupField => c(
                "sts-policy-dup-field",
                Warning,
                "field repeated in the policy",
                "Keep one line per field (only mx repeats): RFC 8461 says the first counts, and some senders take the last.",
                "RFC 8461 §3.2",
                None,
            ),
            StsPolicyUnknownField => c(
                "sts-policy-unknown-field",
                Info,
                "unknown field in the policy",
                "Senders ignore unknown fields; check it is not a misspelt known field.",
                "RFC 8461 §3.2",
                None,
            ),
            StsMxUnmatched => c(
                "sts-mx-unmatched",
                Error,
                "MX host not covered by the policy",
                "Add an \"mx:\" line for this host (or a wildcard covering it) and change the TXT id: enforcing senders will not deliver to it.",
                "RFC 8461 §4.1, §5",
                Some(ValidationFailure),
            ),
            StsMxWildcardDepth => c(
                "sts-mx-wildcard-depth",
                Error,
                "wildcard covers only one label",
                "\"*.\" matches exactly one leftmost label: add a pattern one level deeper, or list the host itself.",
                "RFC 8461 §4.1",
                Some(ValidationFailure),
            ),
            StsEnforceMxRefused => c(
                "sts-enforce-mx-refused",
                Error,
                "enforcing senders refuse mail to this MX now",
                "The policy is in enforce mode and this MX fails validation, so senders that honour the policy do not deliver to it. Fix what the findings about it say, or switch the policy to testing (and change the TXT id) until it passes.",
                "RFC 8461 §5",
                None,
            ),
            SmtpConnectRefused => c(
                "smtp-connect-refused",
                Warning,
                "SMTP connection refused",
                "Nothing listens on port 25 at this address: fix the server or firewall, or remove the address from DNS.",
                "RFC 5321 §5.1; RFC 8461 App. B",
                None,
            ),
            SmtpConnectTimeout => c(
                "smtp-connect-timeout",
                Warning,
                "SMTP connection timed out",
                "The address did not answer on port 25: a firewall drops the traffic or the host is down (or this network blocks port 25).",
                "RFC 5321 §5.1; RFC 8461 App. B",
                None,
            ),
            SmtpConnectFailed => c(
                "smtp-connect-failed",
                Warning,
                "SMTP connection failed",
                "The address could not be reached on port 25: check routing and firewalls.",
                "RFC 5321 §5.1; RFC 8461 App. B",
                None,
            ),
            SmtpBannerTimeout => c(
                "smtp-banner-timeout",
                Warning,
                "no SMTP greeting",
                "The server accepted the connection but sent no 220 greeting in time (a tarpit or an overloaded server).",
                "RFC 5321 §3.1, §4.5.3.2",
                None,
            ),
            SmtpGreeting => c(
                "smtp-greeting",
                Warning,
                "SMTP greeting is not 220",
                "The server refuses sessions at the greeting: senders cannot deliver to this address.",
                "RFC 5321 §3.1, §4.2",
                None,
            ),
            SmtpReplySyntax => c(
                "smtp-reply-syntax",
                Warning,
                "malformed SMTP reply",
                "Replies must be lines of a three-digit code, then ' ' or '-', then text, ended by CRLF.",
                "RFC 5321 §4.2",
                None,
            ),
            SmtpReplyLimit => c(
                "smtp-reply-limit",
                Warning,
                "SMTP reply over the size limits",
                "Keep reply lines under 512 octets and multi-line replies short; the audit stopped reading this one.",
                "RFC 5321 §4.5.3.1.5",
                None,
            ),
            SmtpTimeout => c(
                "smtp-timeout",
                Warning,
                "SMTP reply timed out",
                "The server stopped answering in the middle of the session.",
                "RFC 5321 §4.5.3.2",
                None,
            ),
            SmtpClosed => c(
                "smtp-closed",
                Warning,
                "SMTP server closed the connection",
                "The server dropped the connection in the middle of the session.",
                "RFC 5321 §3.8",
                None,
            ),
            SmtpEhlo => c(
                "smtp-ehlo",
                Error,
                "EHLO rejected",
                "The server must accept EHLO: STARTTLS can only be advertised in the EHLO reply, and HELO offers no way to it.",
                "RFC 5321 §4.1.1.1; RFC 3207 §4",
                Some(StarttlsNotSupported),
            ),
            SmtpStarttlsMissing => c(
                "smtp-starttls-missing",
                Error,
                "STARTTLS not offered",
                "Enable STARTTLS with a valid certificate on this server: enforcing senders will not deliver without it.",
                "RFC 8461 §4, §5; RFC 3207 §2",
                Some(StarttlsNotSupported),
            ),
            SmtpStarttlsReply => c(
                "smtp-starttls-reply",
                Error,
                "STARTTLS refused",
                "STARTTLS is advertised but refused: check the server's TLS configuration (certificate, key, permissions).",
                "RFC 3207 §4",
                Some(StarttlsNotSupported),
            ),
            SmtpStarttlsInjection => c(
                "smtp-starttls-injection",
                Error,
                "plaintext sent after the STARTTLS reply",
                "The server (or something in the path) sent data after its 220 reply to STARTTLS and before the TLS handshake: a sign of a STARTTLS command-injection flaw. Update the MTA or the middlebox.",
                "RFC 3207 §4.2",
                None,
            ),
            SmtpTlsHandshake => c(
                "smtp-tls-handshake",
                Error,
                "TLS handshake failed",
                "The server must complete a TLS 1.2 or 1.3 handshake with a modern client: check its certificate, key and cipher configuration.",
                "RFC 8461 §4.2, §7.2",
                Some(ValidationFailure),
            ),
            SmtpTlsVersionMin => c(
                "smtp-tls-version-min",
                Error,
                "server supports only TLS older than 1.2",
                "Enable TLS 1.2 and 1.3: MTA-STS senders require at least TLS 1.2.",
                "RFC 8461 §7.2; RFC 8996",
                Some(ValidationFailure),
            ),
            SmtpTlsCipher => c(
                "smtp-tls-cipher",
                Warning,
                "only legacy TLS 1.2 cipher suites",
                "Enable ECDHE with AES-GCM or ChaCha20-Poly1305 and TLS 1.3: modern TLS stacks refuse RSA key exchange, CBC and older suites, and so will more and more senders.",
                "RFC 8461 §7.2; RFC 7525 §4.2",
                None,
            ),
            SmtpEhloAfterTls => c(
                "smtp-ehlo-after-tls",
                Error,
                "EHLO after STARTTLS failed",
                "After the TLS handshake the server must accept EHLO again, or senders cannot deliver.",
                "RFC 3207 §4.2",
                Some(ValidationFailure),
            ),
            SmtpCertUntrusted => c(
                "smtp-cert-untrusted",
                Error,
                "MX certificate not trusted",
                "Use a certificate from a public CA: enforcing senders only accept chains to a trusted root.",
                "RFC 8461 §4.2",
                Some(CertificateNotTrusted),
            ),
            SmtpCertSelfSigned => c(
                "smtp-cert-self-signed",
                Error,
                "MX certificate is self-signed",
                "Replace the self-signed certificate with one from a public CA (e.g. Let's Encrypt).",
                "RFC 8461 §4.2",
                Some(CertificateNotTrusted),
            ),
            SmtpCertChainIncomplete => c(
                "smtp-cert-chain-incomplete",
                Error,
                "MX certificate chain incomplete",
                "Configure the server with the full chain (leaf followed by its intermediates): senders do not fetch missing intermediates.",
                "RFC 8461 §4.2",
                Some(CertificateNotTrusted),
            ),
            SmtpCertExpired => c(
                "smtp-cert-expired",
                Error,
                "MX certificate expired",
                "Renew the certificate and reload the mail server; automate renewal.",
                "RFC 8461 §4.2",
                Some(CertificateExpired),
            ),
            SmtpCertNotYetValid => c(
                "smtp-cert-not-yet-valid",
                Error,
                "MX certificate not yet valid",
                "The certificate's validity starts in the future: check the certificate and the issuing system's clock.",
                "RFC 8461 §4.2",
                Some(ValidationFailure),
            ),
            SmtpCertHostname => c(
                "smtp-cert-hostname",
                Error,
                "MX certificate does not cover the MX host name",
                "Add the MX host name to the certificate's subject alternative names (the CN is not used); a wildcard covers one label only.",
                "RFC 8461 §4.2; RFC 6125 §6.4",
                Some(CertificateHostMismatch),
            ),
            SmtpCertExpiring => c(
                "smtp-cert-expiring",
                Warning,
                "MX certificate expires soon",
                "Renew the certificate before it expires and check that the mail server reloads it.",
                "RFC 8461 §4.2",
                None,
            ),
            SmtpCertWeakKey => c(
                "smtp-cert-weak-key",
                Warning,
                "weak MX certificate key",
                "Use an RSA key of at least 2048 bits or an ECDSA key; many TLS stacks refuse weaker keys.",
                "RFC 8461 §7.2; RFC 7525",
                None,
            ),
            SmtpCertSha1 => c(
                "smtp-cert-sha1",
                Warning,
                "SHA-1 signature in the MX certificate chain",
                "Reissue the certificate with a SHA-256 (or stronger) signature; SHA-1 signatures are rejected by modern TLS stacks.",
                "RFC 8461 §7.2; RFC 9155",
                None,
            ),
            SmtpCertChainLimit => c(
                "smtp-cert-chain-limit",
                Warning,
                "MX certificate chain too long",
                "Send only the leaf and its intermediates; the audit judged the first certificates only.",
                "RFC 8446 §4.4.2",
                None,
            ),
            DaneTlsaPresent => c(
                "dane-tlsa-present",
                Info,
                "DANE TLSA records published",
                "DANE-capable senders validate this MX with DANE first; keep the TLSA records in step with every certificate change.",
                "RFC 8461 §2; RFC 7672",
                None,
            ),
            DaneTlsaMismatch => c(
                "dane-tlsa-mismatch",
                Error,
                "certificate matches no TLSA record",
                "Update the TLSA records at _25._tcp.MX to match the served certificate (publish the new record before switching certificates).",
                "RFC 8461 §2; RFC 7672 §3",
                Some(TlsaInvalid),
            ),
            VantageDnsUnreachable => c(
                "vantage-dns-unreachable",
                Warning,
                "no DNS answers from this network",
                "The resolver did not answer at all, not even for the root zone: check this machine's network and resolver (/etc/resolv.conf, or --resolver), then audit again.",
                "RFC 8461 §3.1",
                None,
            ),
            VantagePort25Blocked => c(
                "vantage-port25-blocked",
                Warning,
                "outbound port 25 appears blocked from this network",
                "No MX address answered on port 25 while DNS and HTTPS worked: run the audit from a network that allows outbound SMTP, or use --skip-mx.",
                "RFC 8461 App. B",
                None,
            ),
            VantageFamilyUnreachable => c(
                "vantage-family-unreachable",
                Info,
                "address family unreachable from this network",
                "This network has no route for the address family, so those addresses were not judged: audit from a dual-stack network or use --ipv4-only/--ipv6-only.",
                "RFC 5321 §5.1",
                None,
            ),
            VantageFamilySkipped => c(
                "vantage-family-skipped",
                Info,
                "addresses not checked (--ipv4-only / --ipv6-only)",
                "Addresses of the other family were left out on request, so whether senders that use them would deliver is unknown: audit without the option from a dual-stack network.",
                "RFC 5321 §5.1",
                None,
            ),
            AuditDeadline => c(
                "audit-deadline",
                Warning,
                "audit stopped at its deadline",
                "Some operations did not finish before the per-domain deadline: their results are missing. Raise --deadline or --timeout to wait longer.",
                "RFC 8461 §3.3",
                None,
            ),
            AuditLimit => c(
                "audit-limit",
                Warning,
                "more data than the audit reads",
                "A server or zone returned more than the audit's limit (named in the message): only the first part was judged. Real deployments stay far below these limits.",
                "RFC 8461 §3.3 (bounded fetches)",
                None,
            ),
            AuditMxSkipped => c(
                "audit-mx-skipped",
                Info,
                "MX hosts not checked (--skip-mx)",
                "The SMTP checks were skipped on request, so whether senders can deliver over validated TLS to the MX hosts is unknown: audit without --skip-mx from a network that allows outbound port 25.",
                "RFC 8461 §4, §5",
                None,
            ),
            ReportUnreadable => c(
                "report-unreadable",
                Warning,
                "input holds no readable TLS-RPT report",
                "Give the report itself: its JSON, the .json.gz, the mail it came in or an mbox of such mails. DMARC aggregate reports (XML, often zipped) and other JSON are not TLS-RPT reports; a truncated file or a broken MIME part cannot be read.",
                "RFC 8460 §4.4, §5.3",
                None,
            ),
            ReportLimit => c(
                "report-limit",
                Warning,
                "more report data than the reader takes",
                "An input, a report or the summary went over a limit named in the message (a report inflates to at most 10 MiB, RFC 8460 §6.5): what is past it is not counted. Real reports stay far below; split a large mbox.",
                "RFC 8460 §6.5",
                None,
            ),
            ReportDuplicate => c(
                "report-duplicate",
                Info,
                "the same report read twice",
                "A report with the same report-id from the same organization-name was already read: it is counted once. Senders resend reports whose delivery they are unsure of.",
                "RFC 8460 §4.4, §5.5",
                None,
            ),
            ReportCountMismatch => c(
                "report-count-mismatch",
                Warning,
                "failure count differs from its failure details",
                "The summary's total-failure-session-count is not the sum of the failure details' failed-session-count: both are shown and neither is corrected. Ask the sender which holds.",
                "RFC 8460 §4.4",
                None,
            ),
            ReportMxHostString => c(
                "report-mx-host-string",
                Info,
                "mx-host given as a string",
                "Nothing to fix on your side: RFC 8460 defines mx-host as an array of patterns, and its own example gives a string; it is read as one pattern.",
                "RFC 8460 §4.4, App. B",
                None,
            ),
            ReportAdditionalInfoUri => c(
                "report-additional-info-uri",
                Info,
                "failure detail uses the key additional-info-uri",
                "Nothing to fix on your side: RFC 8460 names the field additional-information and its type additional-info-uri; the value is read either way.",
                "RFC 8460 §4.4",
                None,
            ),
            ReportDatetimeNoZone => c(
                "report-datetime-no-zone",
                Info,
                "date-time without a time zone",
                "Nothing to fix on your side: RFC 8460 asks for RFC 3339 date-times, which carry a zone; a date-time without one is read as UTC, the zone reports are in.",
                "RFC 8460 §4.1, §4.4",
                None,
            ),
            ReportDetailIncomplete => c(
                "report-detail-incomplete",
                Info,
                "failure detail without its addresses",
                "Nothing to fix on your side: the sender left out (or sent empty) sending-mta-ip, receiving-mx-hostname or receiving-ip, so the failure cannot be tied to one MX address; its result-type and count still count.",
                "RFC 8460 §4.4",
                None,
            ),
            ReportContactMissing => c(
                "report-contact-missing",
                Info,
                "report without contact-info",
                "Nothing to fix on your side: the report says nowhere whom to ask about it (contact-info is null or missing).",
                "RFC 8460 §4.4",
                None,
            ),
            ReportPolicyDomainMissing => c(
                "report-policy-domain-missing",
                Info,
                "policy without policy-domain",
                "Nothing to fix on your side: senders leave policy-domain out, most often with no-policy-found; the sessions are counted under no domain, and no mtasts check command can be named for them.",
                "RFC 8460 §4.4",
                None,
            ),
            ReportPolicyStringEncoded => c(
                "report-policy-string-encoded",
                Info,
                "policy-string given as one string",
                "Nothing to fix on your side: policy-string should be a JSON array of strings; one string holding a JSON-encoded array (seen for TLSA policies) is decoded, any other string is read as one line.",
                "RFC 8460 §4.4, §4.5",
                None,
            ),
            ReportCountString => c(
                "report-count-string",
                Info,
                "session count given as a string",
                "Nothing to fix on your side: counts are JSON integers; a string of digits is read as the number it spells.",
                "RFC 8460 §4.4",
                None,
            ),
            ReportResultTypeUnregistered => c(
                "report-result-type-unregistered",
                Info,
                "result-type not in the IANA registry",
                "The sender counted failures under a result-type that RFC 8460 and its registry do not define: they are counted under that name; read the failure details and the sender's documentation for what it means.",
                "RFC 8460 §4.3, §6.6",
                None,
            ),
            ReportEnvelopeMismatch => c(
                "report-envelope-mismatch",
                Info,
                "Subject or file name disagrees with the report",
                "The report body is the authority: what the mail's Subject or the file name says about the policy domain or the dates is not used where it differs.",
                "RFC 8460 §5.1, §5.3, §5.6",
                None,
            ),
            InitNoMxHost => c(
                "init-no-mx-host",
                Error,
                "no MX host for a policy to list",
                "A policy lists the hosts that receive the domain's mail: publish MX records naming those hosts (with A/AAAA records), then run mtasts init again. A domain that receives no mail needs no MTA-STS.",
                "RFC 8461 §3.2, §4.1",
                None,
            ),
            InitMxUnlistable => c(
                "init-mx-unlistable",
                Error,
                "MX host that no policy line can name",
                "Point the MX record at a host name (letters, digits, hyphens and dots): senders honouring an enforce policy refuse an MX no mx line covers.",
                "RFC 8461 §3.2, §4.1",
                None,
            ),
            InitMxFailing => c(
                "init-mx-failing",
                Info,
                "listed MX host fails TLS today",
                "Fix what the findings about this host say before switching to enforce, or stay in testing until mtasts check and the TLS-RPT reports (mtasts report) show it passing.",
                "RFC 8461 §5",
                None,
            ),
            InitWildcard => c(
                "init-wildcard",
                Info,
                "a one-label wildcard covers every MX host",
                "The policy lists exact names, which admit no other host; the wildcard also admits any other host one label under it that holds a valid certificate. Use it only if MX hosts there come and go.",
                "RFC 8461 §4.1",
                None,
            ),
            InitRewrite => c(
                "init-rewrite",
                Info,
                "MTA-STS already published: this is a rewrite",
                "Compare the draft with what is published before replacing it, and publish the new _mta-sts record (its new id) after the new policy is served: senders fetch the policy again only when the id changes.",
                "RFC 8461 §3.1, §5.1",
                None,
            ),
            InitTlsrptNew => c(
                "init-tlsrpt-new",
                Info,
                "TLS-RPT record suggested",
                "Create the mailbox (or change rua= to one that exists) before publishing the record: reports sent to a mailbox that does not exist bounce, and failures go unseen.",
                "RFC 8460 §3",
                None,
            ),
            PlanMxUncovered => c(
                "plan-mx-uncovered",
                Error,
                "planned MX not in the live enforce policy",
                "Senders that cached the live policy refuse mail to an MX it does not list until their copy expires: publish the policy with the new MX first, change the id, wait max_age, then change the MX records.",
                "RFC 8461 §3.1, §4.1, §5.1",
                None,
            ),
            PlanMxUncoveredTesting => c(
                "plan-mx-uncovered-testing",
                Warning,
                "planned MX not in the live testing policy",
                "Senders that cached the live policy still deliver, but report every session with this MX as a failure until their copy expires: publish the policy with the new MX first and change the id, then change the MX records.",
                "RFC 8461 §3.1, §4.1, §5.1",
                None,
            ),
            PlanMxRemovedFromPolicy => c(
                "plan-mx-removed-from-policy",
                Error,
                "MX dropped from the enforce policy while still in DNS",
                "Senders that fetch the new policy refuse mail to an MX host that DNS still gives: remove the MX record first, wait for its TTL, then drop the policy line (and change the id).",
                "RFC 8461 §4.1, §5.1",
                None,
            ),
            PlanPolicyIdUnchanged => c(
                "plan-policy-id-unchanged",
                Error,
                "policy changes but the id stays",
                "Senders refetch the policy only when the id in _mta-sts changes: give the TXT record a new id (e.g. the date and time) in the same change as the policy.",
                "RFC 8461 §3.1, §5.1",
                None,
            ),
            PlanEnforceMxFailing => c(
                "plan-enforce-mx-failing",
                Error,
                "switch to enforce while an MX fails",
                "Senders that fetch the enforce policy refuse mail to every MX that fails validation: fix those MX hosts (or stay in testing and read the TLS-RPT reports) before switching.",
                "RFC 8461 §5, §4.2",
                None,
            ),
            PlanMaxAgeShrunk => c(
                "plan-max-age-shrunk",
                Info,
                "max_age shrinks",
                "A shorter max_age binds only senders that fetch the new policy; those that cached the live one hold it until its own max_age runs out: plan any rollback with the old max_age.",
                "RFC 8461 §3.2, §5.1",
                None,
            ),
            PlanIdChangedPolicySame => c(
                "plan-id-changed-policy-same",
                Info,
                "new id for the same policy",
                "Nothing breaks: senders refetch a policy that applies as before. Change the id when the policy changes.",
                "RFC 8461 §3.1",
                None,
            ),
            DriftPolicyIdUnchanged => c(
                "drift-policy-id-unchanged",
                Error,
                "policy changed since the last run, id did not",
                "Senders that cached the earlier policy keep it until it expires: give the _mta-sts TXT record a new id now.",
                "RFC 8461 §3.1, §5.1",
                None,
            ),
            DriftIdChangedPolicySame => c(
                "drift-id-changed-policy-same",
                Info,
                "id changed since the last run, policy did not",
                "Nothing breaks: senders refetched a policy that applies as before.",
                "RFC 8461 §3.1",
                None,
            ),
            DriftMxChanged => c(
                "drift-mx-changed",
                Info,
                "MX set changed since the last run",
                "Make sure the policy's mx lines cover every MX host (sts-mx-unmatched says when they do not), and that the policy was published before the MX change.",
                "RFC 8461 §4.1",
                None,
            ),
            DriftModeChanged => c(
                "drift-mode-changed",
                Info,
                "policy mode raised since the last run",
                "A mode change takes effect for senders when they refetch the policy, which needs a new id.",
                "RFC 8461 §5",
                None,
            ),
            DriftModeDowngraded => c(
                "drift-mode-downgraded",
                Warning,
                "policy mode lowered since the last run",
                "Senders that refetch the policy no longer refuse mail to an MX that fails TLS (testing) or drop the policy (none): the protection asked for is gone for them. If that was not meant, publish the enforce policy again with a new id.",
                "RFC 8461 §5",
                None,
            ),
            DriftCertReplaced => c(
                "drift-cert-replaced",
                Info,
                "certificate replaced since the last run",
                "Expected after a renewal; otherwise find out who changed it. Update TLSA records when DANE is in use.",
                "RFC 8461 §4.2",
                None,
            ),
            DriftCertExpiring => c(
                "drift-cert-expiring",
                Info,
                "certificate entered the expiry window since the last run",
                "The same certificate is served as last time and now expires soon: renew it (the expiring check says when).",
                "RFC 8461 §3.3, §4.2",
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_kebab_case_and_round_trip() {
        let mut seen = HashSet::new();
        for &check in Check::ALL {
            let id = check.id();
            assert!(seen.insert(id), "duplicate id {id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id} is not kebab-case"
            );
            assert_eq!(Check::from_id(id), Some(check));
        }
    }

    /// Ids, severities and result-types are public API: any change shows in review as a
    /// change of this snapshot (src/snapshots/).
    #[test]
    fn registry_snapshot() {
        let lines: Vec<String> = Check::ALL
            .iter()
            .map(|c| {
                let i = c.info();
                format!(
                    "{} {} {}",
                    i.id,
                    i.severity,
                    i.result_type.map_or("-", |r| r.as_str())
                )
            })
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn every_check_says_why_and_how() {
        for &check in Check::ALL {
            let info = check.info();
            assert!(
                !info.title.is_empty() && !info.hint.is_empty() && !info.rfc.is_empty(),
                "{}",
                info.id
            );
        }
    }
}
