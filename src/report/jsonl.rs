//! JSON Lines: one JSON object per domain, on one line, written as soon as the domain is
//! judged. Each line parses alone and carries the schema version, so the outputs of many
//! shards concatenate into one result. A line is the domain object of the JSON document
//! (see `json.rs`), with `schema_version` in front.

use std::io::{self, Write};

use serde::Serialize;

use crate::judge::DomainReport;
use crate::report::json::{self, DomainJson, SCHEMA_VERSION};
use crate::report::{Run, Sink};
use crate::tally::Tally;

#[derive(Serialize)]
struct Line<'a> {
    schema_version: u32,
    #[serde(flatten)]
    domain: DomainJson<'a>,
}

pub struct JsonlSink<'a, W> {
    out: &'a mut W,
}

impl<'a, W: Write> JsonlSink<'a, W> {
    pub fn new(out: &'a mut W) -> Self {
        JsonlSink { out }
    }
}

impl<W: Write> Sink for JsonlSink<'_, W> {
    fn begin(&mut self, _run: &Run) -> io::Result<()> {
        Ok(())
    }

    fn domain(&mut self, report: &DomainReport) -> io::Result<()> {
        let line = Line {
            schema_version: SCHEMA_VERSION,
            domain: json::domain(report),
        };
        writeln!(self.out, "{}", json::encode(&line, false)?)?;
        self.out.flush()
    }

    fn end(&mut self, _tally: &Tally) -> io::Result<()> {
        self.out.flush()
    }
}
