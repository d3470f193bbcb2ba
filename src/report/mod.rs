//! Reports rendered from a finished run: the runner's results and the run's transcript go in, a
//! document comes out. Nothing here talks to a terminal or a host, so a stored transcript can be
//! rendered again later. Rendering the same inputs twice gives the same page (the date shown is
//! the transcript's first timestamp, or the render time when it is empty).
//!
//! After a run, with `dir` the report directory the runner wrote to:
//!
//! ```text
//! let (records, _warning) = crate::transcript::read_transcript(&dir.join("transcript.jsonl"))?;
//! let opts = HtmlOptions { reveal, run_id, title };
//! write_html(&results, &records, &opts, &dir.join("report.html"))?;
//! ```

pub mod html;

pub use html::{render_html, write_html, HtmlOptions};
