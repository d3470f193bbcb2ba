//! Reports of a run, all read from the case results and the run's transcript (data flows one
//! way): `junit.xml` (written by the runner as cases finish), `traffic.pcap` and the
//! self-contained `report.html`. Nothing here talks to a terminal or a host, so a stored
//! transcript can be rendered again later. Rendering the same inputs twice gives the same page
//! (the date shown is the transcript's first timestamp).

pub mod html;

pub use html::{render_html, write_html, HtmlOptions};

use crate::suite::runner::{CaseResult, RunError, RunOptions};
use crate::transcript::Record;

/// Write `traffic.pcap` and `report.html` into `opts.report_dir`.
pub fn write_reports(
    results: &[CaseResult],
    records: &[Record],
    opts: &RunOptions,
    interrupted: bool,
) -> Result<(), RunError> {
    let dir = &opts.report_dir;
    let pcap = std::fs::File::create(dir.join("traffic.pcap"))
        .map_err(|e| RunError::Setup(format!("{}: {e}", dir.join("traffic.pcap").display())))?;
    crate::pcap::write_pcap(records, std::io::BufWriter::new(pcap))
        .map_err(|e| RunError::Setup(e.to_string()))?;
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let html = HtmlOptions {
        reveal: opts.reveal,
        title: format!(
            "posconf conformance report — rig {}{}",
            opts.rig.rig,
            if interrupted {
                " (INTERRUPTED: partial)"
            } else {
                ""
            }
        ),
        run_id,
    };
    write_html(results, records, &html, &dir.join("report.html"))
        .map_err(|e| RunError::Setup(format!("{}: {e}", dir.join("report.html").display())))
}
