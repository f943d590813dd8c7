//! Hostile and broken servers: whatever a peer does, the audit ends within its limits,
//! reports what happened, keeps judging everything else, and prints nothing a server
//! could use to fool the reader.
