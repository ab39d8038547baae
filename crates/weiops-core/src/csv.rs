//! Reading the header row of an import file (CSV, or an .xlsx sheet read
//! as rows of text): which column each expected name sits in. Shared by
//! the agents and orders imports, whose files come from Excel and shop
//! systems with a BOM, extra columns and any column order.

/// Where each of `names` sits in a header row (`usize::MAX` when absent):
/// an optional UTF-8 BOM on the first cell is stripped, cells are matched
/// exactly after trimming, extra columns are ignored and a repeated name
/// resolves to its leftmost column.
pub(crate) fn header_index<const N: usize>(header: &[&str], names: &[&str; N]) -> [usize; N] {
    let names: [&[&str]; N] = std::array::from_fn(|k| std::slice::from_ref(&names[k]));
    header_index_any(header, &names)
}

/// [`header_index`] where each column may go by several names: the
/// leftmost cell carrying any of them wins.
pub(crate) fn header_index_any<const N: usize>(
    header: &[&str],
    names: &[&[&str]; N],
) -> [usize; N] {
    let mut index = [usize::MAX; N];
    for (i, cell) in header.iter().enumerate() {
        let cell = if i == 0 {
            cell.strip_prefix('\u{feff}').unwrap_or(cell)
        } else {
            cell
        };
        if let Some(k) = names.iter().position(|c| c.contains(&cell.trim()))
            && index[k] == usize::MAX
        {
            index[k] = i;
        }
    }
    index
}
