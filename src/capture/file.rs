//! Capture files: pcap and pcapng, plain or gzip-compressed, from a path or
//! standard input (`-`).

use super::{CaptureError, CaptureErrorKind, Frame, FrameSource};
use std::io::Read;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap,
    PcapNg,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Pcap => "pcap",
            FileFormat::PcapNg => "pcapng",
        }
    }
}

/// A streaming reader over one capture file.
pub struct FileReader {
    path: String,
    format: FileFormat,
    gzip: bool,
    _input: Box<dyn Read>,
}

impl FileReader {
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn format(&self) -> FileFormat {
        self.format
    }
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }
}

/// Open a capture by path (`-` is standard input), detecting gzip and the
/// format by magic number.
pub fn open(path: &str) -> Result<FileReader, CaptureError> {
    Err(CaptureError {
        path: path.to_string(),
        offset: 0,
        kind: CaptureErrorKind::Io {
            message: "not implemented".into(),
        },
    })
}

impl FrameSource for FileReader {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        Ok(None)
    }
}
