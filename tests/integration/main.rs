//! The one integration test binary: the lab and, in modules beside it, the end-to-end
//! tests of mtasts run inside it.

mod lab;
mod lab_selftest;
