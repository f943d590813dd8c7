//! Limits of the vantage point: port 25 blocked here, an address family without a route,
//! --skip-mx, --ipv4-only and --ipv6-only.
