//! Reports rendered from a finished run: the results of the runner and the run's transcript go
//! in, a document comes out. Nothing here talks to a terminal or a host; rendering the same
//! inputs twice gives the same page (apart from the render date when the transcript is empty).

pub mod html;

pub use html::{render_html, write_html, HtmlOptions};
