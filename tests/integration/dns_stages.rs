//! The MX record set and DNS failures at every stage: null MX, implicit MX, MX targets that
//! are CNAMEs or addresses, hosts that do not resolve, and SERVFAIL/REFUSED/timeouts that
//! must never read as absence.
