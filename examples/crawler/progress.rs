//! The progress bar while the crawl runs, and the lines printed above it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(pages: u64) -> Progress {
        let bar = ProgressBar::new(pages);
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} pages  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar }
    }

    pub fn update(&self, pages: u64, message: String) {
        self.bar.set_position(pages);
        self.bar.set_message(message);
    }

    /// A line above the bar (or on stdout when there is no terminal).
    pub fn println(&self, line: impl Into<String>) {
        let line = line.into();
        if self.bar.is_hidden() {
            println!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish();
    }
}
