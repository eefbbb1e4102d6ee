//! Bytes to text, incrementally: BOM sniffing, UTF-8 with a Windows-1252 fallback, UTF-16.
//!
//! Design decision: no byte is ever dropped. A byte that is not valid UTF-8 in a UTF-8 file is
//! decoded as Windows-1252 (what such a byte almost always is: an `é` typed in Excel) and
//! reported with its offset, so the value survives and the user knows it was guessed.

/// The text encoding an upload was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    /// UTF-8 that started with a byte-order mark (the BOM is not part of the data).
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Also covers Latin-1 (ISO-8859-1): Windows-1252 is its superset for printable text.
    Windows1252,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf8Bom => "utf-8-bom",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }
}

/// One stretch of input that could not be decoded as the detected encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingProblem {
    /// Byte offset in the upload.
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// What the bytes became in the text (never empty: nothing is dropped).
    pub decoded_as: String,
    pub reason: String,
}

/// Bytes needed before the encoding is decided when there is no BOM.
const DETECT_BYTES: usize = 16 * 1024;

/// Windows-1252 0x80..=0x9F; the five undefined bytes map to the C1 controls (as WHATWG does).
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

pub(crate) fn cp1252_char(b: u8) -> char {
    if (0x80..=0x9F).contains(&b) {
        CP1252_HIGH[(b - 0x80) as usize]
    } else {
        b as char
    }
}

/// Detects the encoding of a whole buffer (used by the non-streaming paths).
pub fn detect(sample: &[u8], is_complete: bool) -> (TextEncoding, usize) {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return (TextEncoding::Utf8Bom, 3);
    }
    if sample.starts_with(&[0xFF, 0xFE]) {
        return (TextEncoding::Utf16Le, 2);
    }
    if sample.starts_with(&[0xFE, 0xFF]) {
        return (TextEncoding::Utf16Be, 2);
    }
    // UTF-16 without a BOM: mostly-ASCII text has a zero in every other byte.
    let pairs = sample.len() / 2;
    if pairs >= 4 {
        let even_zero = sample
            .chunks_exact(2)
            .filter(|p| p[0] == 0 && p[1] != 0)
            .count();
        let odd_zero = sample
            .chunks_exact(2)
            .filter(|p| p[1] == 0 && p[0] != 0)
            .count();
        if odd_zero * 10 >= pairs * 7 && even_zero == 0 {
            return (TextEncoding::Utf16Le, 0);
        }
        if even_zero * 10 >= pairs * 7 && odd_zero == 0 {
            return (TextEncoding::Utf16Be, 0);
        }
    }
    // UTF-8 unless invalid bytes outnumber valid multi-byte characters: a UTF-8 file with one
    // stray Latin-1 byte stays UTF-8 (the byte is reported), a Latin-1 file does not.
    let (mut valid_multibyte, mut invalid, mut pos) = (0usize, 0usize, 0usize);
    while pos < sample.len() {
        match std::str::from_utf8(&sample[pos..]) {
            Ok(s) => {
                valid_multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let good = &sample[pos..pos + e.valid_up_to()];
                valid_multibyte += std::str::from_utf8(good)
                    .map_or(0, |s| s.chars().filter(|c| !c.is_ascii()).count());
                match e.error_len() {
                    Some(n) => {
                        invalid += 1;
                        pos += e.valid_up_to() + n;
                    }
                    // A sequence cut by the end of an incomplete sample is not evidence of anything.
                    None if !is_complete => break,
                    None => {
                        invalid += 1;
                        break;
                    }
                }
            }
        }
    }
    if invalid > valid_multibyte {
        (TextEncoding::Windows1252, 0)
    } else {
        (TextEncoding::Utf8, 0)
    }
}

/// An incremental decoder: push bytes, get UTF-8 text and the problems found.
#[derive(Debug, Default)]
pub struct Decoder {
    encoding: Option<TextEncoding>,
    pending: Vec<u8>,
    /// Offset in the upload of `pending[0]`.
    offset: u64,
    pub problems: Vec<EncodingProblem>,
    /// Total problems, beyond what is kept in `problems`.
    pub problem_count: u64,
    max_problems: usize,
}

impl Decoder {
    pub fn new(max_problems: usize) -> Self {
        Decoder {
            max_problems,
            ..Default::default()
        }
    }

    /// The encoding, once decided (after the BOM or the first 16 KiB, or at `last`).
    pub fn encoding(&self) -> Option<TextEncoding> {
        self.encoding
    }

    fn problem(&mut self, p: EncodingProblem) {
        self.problem_count += 1;
        if self.problems.len() < self.max_problems {
            self.problems.push(p);
        }
    }

    /// Decodes `chunk` (appending text to `out`); `last` flushes everything held back.
    pub fn decode(&mut self, chunk: &[u8], last: bool, out: &mut String) {
        // UTF-8 with nothing held back (nearly every chunk): decode the chunk where it is and
        // hold back only an unfinished last character, instead of copying it into `pending`.
        if self.pending.is_empty()
            && matches!(
                self.encoding,
                Some(TextEncoding::Utf8 | TextEncoding::Utf8Bom)
            )
        {
            let consumed = self.decode_utf8_bytes(chunk, last, out);
            self.pending.extend_from_slice(&chunk[consumed..]);
            self.offset += consumed as u64;
            return;
        }
        self.pending.extend_from_slice(chunk);
        if self.encoding.is_none() {
            if self.pending.len() < DETECT_BYTES && !last {
                return;
            }
            let (enc, bom) = detect(&self.pending, last);
            self.encoding = Some(enc);
            self.pending.drain(..bom);
            self.offset += bom as u64;
            if enc == TextEncoding::Windows1252 {
                let first_bad = match std::str::from_utf8(&self.pending) {
                    Err(e) => e.valid_up_to(),
                    Ok(_) => 0,
                };
                let byte = self.pending.get(first_bad).copied().unwrap_or(0);
                let nonascii = self.pending.iter().filter(|b| **b >= 0x80).count();
                self.problem(EncodingProblem {
                    offset: self.offset + first_bad as u64,
                    bytes: vec![byte],
                    decoded_as: cp1252_char(byte).to_string(),
                    reason: format!(
                        "not UTF-8 (byte 0x{byte:02X} at offset {}); the file was read as Windows-1252/Latin-1 ({nonascii} non-ASCII bytes in the first {} bytes)",
                        self.offset + first_bad as u64,
                        self.pending.len()
                    ),
                });
            }
        }
        let Some(enc) = self.encoding else { return };
        let consumed = match enc {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => self.decode_utf8(last, out),
            TextEncoding::Windows1252 => {
                out.extend(self.pending.iter().map(|b| cp1252_char(*b)));
                self.pending.len()
            }
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                self.decode_utf16(enc == TextEncoding::Utf16Le, last, out)
            }
        };
        self.pending.drain(..consumed);
        self.offset += consumed as u64;
    }

    fn decode_utf8(&mut self, last: bool, out: &mut String) -> usize {
        let buf = std::mem::take(&mut self.pending);
        let pos = self.decode_utf8_bytes(&buf, last, out);
        self.pending = buf;
        pos
    }

    /// Decodes `buf`, which starts at `self.offset`, into `out`; returns the bytes consumed
    /// (all but an unfinished last character when not `last`).
    fn decode_utf8_bytes(&mut self, buf: &[u8], last: bool, out: &mut String) -> usize {
        let mut pos = 0;
        let mut found = Vec::new();
        loop {
            match std::str::from_utf8(&buf[pos..]) {
                Ok(s) => {
                    out.push_str(s);
                    pos = buf.len();
                    break;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    // Safe: from_utf8 just validated this prefix.
                    out.push_str(std::str::from_utf8(&buf[pos..pos + good]).unwrap_or_default());
                    pos += good;
                    let bad_len = match e.error_len() {
                        Some(n) => n,
                        None if !last => break, // a sequence continued in the next chunk
                        None => buf.len() - pos,
                    };
                    let bad = &buf[pos..pos + bad_len];
                    let text: String = bad.iter().map(|b| cp1252_char(*b)).collect();
                    out.push_str(&text);
                    found.push(EncodingProblem {
                        offset: self.offset + pos as u64,
                        bytes: bad.to_vec(),
                        decoded_as: text.clone(),
                        reason: format!(
                            "invalid UTF-8 byte(s) {} at offset {}; kept as Windows-1252 {:?}",
                            hex(bad),
                            self.offset + pos as u64,
                            text
                        ),
                    });
                    pos += bad_len;
                }
            }
        }
        for p in found {
            self.problem(p);
        }
        pos
    }

    fn decode_utf16(&mut self, le: bool, last: bool, out: &mut String) -> usize {
        let mut usable = self.pending.len() & !1;
        let unit = |p: &[u8]| {
            if le {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        };
        // Keep a trailing high surrogate for the next chunk.
        if !last
            && usable >= 2
            && (0xD800..0xDC00).contains(&unit(&self.pending[usable - 2..usable]))
        {
            usable -= 2;
        }
        let units: Vec<u16> = self.pending[..usable].chunks_exact(2).map(unit).collect();
        let mut found = Vec::new();
        let mut unit_pos = 0u64;
        for r in char::decode_utf16(units.iter().copied()) {
            match r {
                Ok(c) => {
                    out.push(c);
                    unit_pos += c.len_utf16() as u64;
                }
                Err(e) => {
                    out.push('\u{FFFD}');
                    let off = self.offset + unit_pos * 2;
                    found.push(EncodingProblem {
                        offset: off,
                        bytes: e.unpaired_surrogate().to_be_bytes().to_vec(),
                        decoded_as: "\u{FFFD}".into(),
                        reason: format!("unpaired UTF-16 surrogate 0x{:04X} at offset {off}; replaced by U+FFFD", e.unpaired_surrogate()),
                    });
                    unit_pos += 1;
                }
            }
        }
        let mut consumed = usable;
        if last && self.pending.len() > usable {
            let off = self.offset + usable as u64;
            let rest = self.pending[usable..].to_vec();
            out.push('\u{FFFD}');
            found.push(EncodingProblem {
                offset: off,
                decoded_as: "\u{FFFD}".into(),
                reason: format!(
                    "odd trailing byte {} at offset {off} in UTF-16 text; replaced by U+FFFD",
                    hex(&rest)
                ),
                bytes: rest,
            });
            consumed = self.pending.len();
        }
        for p in found {
            self.problem(p);
        }
        consumed
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("0x{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes a whole buffer at once.
pub fn decode_all(bytes: &[u8], max_problems: usize) -> (String, TextEncoding, Decoder) {
    let mut d = Decoder::new(max_problems);
    let mut s = String::with_capacity(bytes.len());
    d.decode(bytes, true, &mut s);
    let enc = d.encoding().unwrap_or(TextEncoding::Utf8);
    (s, enc, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes` in chunks of `size` and returns the text and the problems.
    fn decode_in(bytes: &[u8], size: usize) -> (String, Vec<EncodingProblem>, u64) {
        let mut d = Decoder::new(100);
        let mut out = String::new();
        for chunk in bytes.chunks(size) {
            d.decode(chunk, false, &mut out);
        }
        d.decode(&[], true, &mut out);
        (out, d.problems, d.problem_count)
    }

    /// Chunks decoded where they are (nothing held back) and after a held-back partial
    /// character give the same text and problem offsets as one whole decode.
    #[test]
    fn utf8_decodes_alike_at_every_chunk_size() {
        for bom in [false, true] {
            let mut bytes = Vec::new();
            if bom {
                bytes.extend_from_slice(b"\xEF\xBB\xBF");
            }
            // Past the detection window, so the invalid bytes below do not decide the encoding.
            while bytes.len() < DETECT_BYTES + 100 {
                bytes.extend_from_slice("a,é,€,😀\n".as_bytes());
            }
            bytes.extend_from_slice(b"x\xE9y,\xF0\x9F\x98,z\n");
            bytes.extend_from_slice("Kraków,\"ü\"\n".as_bytes());
            bytes.extend_from_slice(b"tail\xC3");
            let whole = decode_in(&bytes, bytes.len());
            assert_eq!(whole.2, 3, "three invalid stretches");
            for size in (1..=9).chain([64, 4096, 65536]) {
                assert_eq!(
                    decode_in(&bytes, size),
                    whole,
                    "chunks of {size}, bom {bom}"
                );
            }
        }
    }
}
