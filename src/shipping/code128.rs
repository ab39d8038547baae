//! Code 128 (subset B) for the order number on a waybill, and an SVG of it.
//! Hand-written (ISO/IEC 15417): a waybill needs one symbology, not a crate.
//!
//! A pattern is the widths of alternating bars and spaces, starting with a
//! bar, in modules; `encode` returns them with the quiet zones (10 modules
//! each side) as leading/trailing spaces.

/// Bar/space widths of the symbol values 0..=105, then STOP (106, 7 elements).
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

pub const START_B: u8 = 104;
pub const STOP: u8 = 106;
pub const QUIET: u8 = 10;

/// The symbol values of `text` in subset B with the checksum, between
/// START B and STOP; `None` when a character is outside ASCII 32..=126.
pub fn values(text: &str) -> Option<Vec<u8>> {
    let mut v = vec![START_B];
    for c in text.chars() {
        let c = c as u32;
        if !(32..=126).contains(&c) {
            return None;
        }
        v.push((c - 32) as u8);
    }
    v.push(checksum(&v));
    v.push(STOP);
    Some(v)
}

/// (start + Σ position × value) mod 103, positions from 1 after the start.
pub fn checksum(start_and_data: &[u8]) -> u8 {
    let sum: u64 = start_and_data
        .iter()
        .enumerate()
        .map(|(i, &v)| (i.max(1) as u64) * u64::from(v))
        .sum();
    (sum % 103) as u8
}

/// Element widths (bar first) of `text`, quiet zones included as the first
/// and last element (spaces). `None` when `text` is not subset B.
pub fn encode(text: &str) -> Option<Vec<u8>> {
    let mut out = vec![QUIET];
    // The quiet zone is a space, so the first bar follows it.
    for v in values(text)? {
        out.extend(PATTERNS[v as usize].bytes().map(|b| b - b'0'));
    }
    out.push(QUIET);
    // out[0] is a space and bars alternate from out[1]; a leading zero-width
    // bar keeps "bar first" for callers.
    out.insert(0, 0);
    Some(out)
}

/// The barcode as an SVG (`module` px per module, `height` px tall), with
/// the text for screen readers. `None` when `text` is not subset B.
pub fn svg(text: &str, module: u32, height: u32) -> Option<String> {
    let widths = encode(text)?;
    let total: u32 = widths.iter().map(|&w| u32::from(w)).sum::<u32>() * module;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="code128" width="{total}" height="{height}" viewBox="0 0 {total} {height}" role="img" aria-label="{}"><rect width="{total}" height="{height}" fill="#fff"/>"##,
        escape(text)
    );
    let mut x = 0u32;
    for (i, &w) in widths.iter().enumerate() {
        let w = u32::from(w) * module;
        if i % 2 == 0 && w > 0 {
            s.push_str(&format!(
                r##"<rect x="{x}" y="0" width="{w}" height="{height}" fill="#000"/>"##
            ));
        }
        x += w;
    }
    s.push_str("</svg>");
    Some(s)
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_symbol_is_eleven_modules_and_stop_thirteen() {
        for (i, p) in PATTERNS.iter().enumerate() {
            let sum: u32 = p.bytes().map(|b| u32::from(b - b'0')).sum();
            assert_eq!(sum, if i == 106 { 13 } else { 11 }, "symbol {i}");
        }
    }

    #[test]
    fn start_b_and_stop_patterns() {
        assert_eq!(PATTERNS[START_B as usize], "211214");
        assert_eq!(PATTERNS[STOP as usize], "2331112");
    }

    #[test]
    fn checksum_of_a_worked_sample() {
        // "PJJ123C" in subset B, worked by hand as the spec's method says:
        // 104 + 48·1 + 42·2 + 42·3 + 17·4 + 18·5 + 19·6 + 35·7 = 879;
        // 879 mod 103 = 55.
        let v = values("PJJ123C").unwrap();
        assert_eq!(v, vec![104, 48, 42, 42, 17, 18, 19, 35, 55, STOP]);
    }

    #[test]
    fn encoding_has_quiet_zones_and_fixed_width() {
        let e = encode("PO2026").unwrap();
        assert_eq!(e[0], 0);
        assert_eq!(e[1], QUIET);
        assert_eq!(*e.last().unwrap(), QUIET);
        let modules: u32 = e.iter().map(|&w| u32::from(w)).sum();
        // quiet + start + 6 data + check + stop(13) + quiet
        assert_eq!(modules, 10 + 11 * (1 + 6 + 1) + 13 + 10);
        // Starts with START B right after the quiet zone.
        assert_eq!(&e[2..8], &[2, 1, 1, 2, 1, 4]);
        assert_eq!(&e[e.len() - 8..e.len() - 1], &[2, 3, 3, 1, 1, 1, 2]);
    }

    #[test]
    fn refuses_text_outside_subset_b() {
        assert!(values("订单").is_none());
        assert!(svg("a\tb", 2, 60).is_none());
    }

    #[test]
    fn svg_draws_one_rect_per_bar() {
        let s = svg("A", 2, 50).unwrap();
        // start(3 bars) + A(3) + check(3) + stop(4) = 13 bars + background.
        assert_eq!(s.matches("<rect").count(), 14);
        assert!(s.contains(r#"aria-label="A""#));
    }
}
