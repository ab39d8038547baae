//! Exports of any list: CSV (UTF-8 with a BOM, so Excel opens Chinese text
//! correctly) or an Excel workbook.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook};

/// A table to export: headers and rows of text.
pub struct Table {
    pub sheet: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// The most rows one export writes; larger sets are narrowed by filters.
pub const MAX_EXPORT_ROWS: i64 = 100_000;

impl ExportFormat {
    pub fn parse(s: Option<&str>) -> crate::Result<ExportFormat> {
        match s.unwrap_or("csv") {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            _ => Err(crate::Error::BadRequest("error.bad_export_format")),
        }
    }
}

pub fn to_csv(t: &Table) -> crate::Result<Vec<u8>> {
    let mut out = Vec::from(*b"\xEF\xBB\xBF");
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(&t.headers).map_err(anyhow::Error::from)?;
        for row in &t.rows {
            // A cell starting with = + - @ would be a formula in Excel:
            // prefix it so exported data cannot run as one.
            let safe: Vec<String> = row
                .iter()
                .map(|c| {
                    if c.starts_with(['=', '+', '-', '@']) && c.parse::<f64>().is_err() {
                        format!("'{c}")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            w.write_record(&safe).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    Ok(out)
}

pub fn to_xlsx(t: &Table) -> crate::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let err = |e: rust_xlsxwriter::XlsxError| crate::Error::Internal(anyhow::anyhow!("xlsx: {e}"));
    sheet.set_name(&t.sheet).map_err(err)?;
    let bold = Format::new().set_bold();
    for (c, h) in t.headers.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, h, &bold)
            .map_err(err)?;
        sheet.set_column_width(c as u16, 18).map_err(err)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet
                .write_string((r + 1) as u32, c as u16, cell)
                .map_err(err)?;
        }
    }
    book.save_to_buffer().map_err(err)
}

/// The download response; `name` without extension, e.g. `audit-log`.
pub fn respond(t: &Table, format: ExportFormat, name: &str) -> crate::Result<Response> {
    let stamp = weiops_core::time::format_date(crate::db::now_ms());
    let (body, content_type, ext) = match format {
        ExportFormat::Csv => (to_csv(t)?, "text/csv; charset=utf-8", "csv"),
        ExportFormat::Xlsx => (
            to_xlsx(t)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let filename = format!("{name}-{stamp}.{ext}");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            sheet: "用户".into(),
            headers: vec!["账号".into(), "姓名".into()],
            rows: vec![
                vec!["li".into(), "李伟".into()],
                vec!["x".into(), "=HYPERLINK(\"evil\")".into()],
            ],
        }
    }

    #[test]
    fn csv_has_bom_and_defuses_formulas() {
        let bytes = to_csv(&table()).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.starts_with("账号,姓名\n"));
        assert!(text.contains("李伟"));
        assert!(text.contains("'=HYPERLINK"));
    }

    #[test]
    fn xlsx_is_a_zip() {
        let bytes = to_xlsx(&table()).unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
