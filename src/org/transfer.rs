//! Staff import from Excel or CSV, and exports of staff and positions.
//!
//! An import is all or nothing: every row is checked first (columns, values,
//! positions, duplicates inside the file and against the database); any
//! problem refuses the whole file with row-numbered messages, and nothing
//! is stored. A clean file is written in one transaction.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde::Serialize;

use super::positions::Position;
use super::staff::{self, Staff, StaffInput};
use crate::audit::{self, Actor, Change};
use crate::db::Db;
use crate::error::{FieldErrors, RowProblem};
use crate::export::Table;
use crate::i18n::Locale;
use crate::users::store::{self as users, NewUser};
use crate::{Error, Result};

/// Most rows one import takes. Each new account's password is hashed with
/// argon2id (tens of milliseconds by design), so a staff file is kept to a
/// size that finishes within a request.
pub const MAX_ROWS: usize = 2_000;

/// The first sheet of an .xlsx as rows of trimmed text (every importer's
/// Excel path).
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|_| Error::BadRequest("import.bad_file"))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(Error::BadRequest("import.bad_file"))?
        .map_err(|_| Error::BadRequest("import.bad_file"))?;
    Ok(range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect())
}

/// Reads the first sheet of an .xlsx, or a CSV in UTF-8 (with or without a
/// BOM) or GBK, into rows of trimmed text.
pub fn read_table(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    if bytes.starts_with(b"PK") {
        return xlsx_rows(bytes);
    }
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(t) => t.to_string(),
        Err(_) => {
            let (decoded, _, had_errors) = encoding_rs::GBK.decode(bytes);
            if had_errors {
                return Err(Error::BadRequest("import.bad_encoding"));
            }
            decoded.into_owned()
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| Error::BadRequest("import.bad_file"))?;
        rows.push(record.iter().map(|c| c.trim().to_string()).collect());
    }
    Ok(rows)
}

pub fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        // Phone numbers and employee numbers typed into Excel become numbers.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::Error(_) => "#ERROR".into(),
    }
}

/// The columns of a staff file: key, Chinese header, English header, required.
pub const STAFF_COLUMNS: &[(&str, &str, &str, bool)] = &[
    ("username", "用户名", "username", true),
    ("display_name", "姓名", "name", true),
    ("phone", "手机号", "phone", false),
    ("wechat_id", "微信号", "wechat_id", false),
    ("employee_no", "工号", "employee_no", false),
    ("hire_date", "入职日期", "hire_date", false),
    ("primary_position", "主岗位编码", "primary_position", true),
    ("other_positions", "兼任岗位编码", "other_positions", false),
    ("status", "状态", "status", false),
    ("notes", "备注", "notes", false),
];

/// The import template: headers and one example row.
pub fn staff_template(locale: Locale) -> Table {
    let headers = STAFF_COLUMNS
        .iter()
        .map(|(_, zh, en, _)| {
            if locale == Locale::En {
                en.to_string()
            } else {
                zh.to_string()
            }
        })
        .collect();
    let example = [
        "zhang.san",
        "张三",
        "13800138000",
        "zhangsan_wx",
        "E001",
        "2026-11-01",
        "caopanshou",
        "",
        "在职",
        "",
    ];
    Table {
        sheet: "staff".into(),
        headers,
        rows: vec![example.iter().map(|s| s.to_string()).collect()],
    }
}

/// A staff row that passed every check, ready to write.
struct ReadyRow {
    checked: users::CheckedUser,
    profile: staff::ValidProfile,
}

/// The result of a successful import: the accounts created with their
/// one-time passwords.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportedAccount {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    /// Generated; must be changed at first sign-in. Shown only once.
    pub password: String,
}

fn problem(row: usize, column: &str, key: &str, value: &str) -> RowProblem {
    RowProblem {
        row,
        id: String::new(),
        column: column.to_string(),
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// Checks and imports a staff file. Nothing is stored unless every row is
/// right.
#[tracing::instrument(skip(db, actor, bytes), fields(bytes = bytes.len()))]
pub async fn import_staff(db: &Db, actor: &Actor, bytes: &[u8]) -> Result<Vec<ImportedAccount>> {
    let table = read_table(bytes)?;
    let mut rows = table
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()));
    let Some((_, header)) = rows.next() else {
        return Err(Error::BadRequest("import.empty"));
    };
    // Map each known column to its index, by Chinese or English header.
    let mut index: HashMap<&str, (usize, String)> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().trim_start_matches('*');
        if let Some((key, ..)) = STAFF_COLUMNS
            .iter()
            .find(|(_, zh, en, _)| h == *zh || h.eq_ignore_ascii_case(en))
        {
            index.insert(key, (i, h.to_string()));
        }
    }
    let mut problems: Vec<RowProblem> = STAFF_COLUMNS
        .iter()
        .filter(|(key, _, _, required)| *required && !index.contains_key(key))
        .map(|(_, zh, _, _)| problem(1, zh, "import.missing_column", zh))
        .collect();
    if !problems.is_empty() {
        return Err(Error::ImportRejected(problems));
    }
    let data: Vec<(usize, Vec<String>)> = rows.map(|(i, r)| (i + 1, r)).collect();
    if data.is_empty() {
        return Err(Error::BadRequest("import.empty"));
    }
    if data.len() > MAX_ROWS {
        return Err(Error::BadRequest("import.too_many_rows"));
    }
    let codes: HashMap<String, Position> = super::positions::all(db, &Default::default())
        .await?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    let mut seen_usernames: HashMap<String, usize> = HashMap::new();
    let mut seen_phones: HashMap<String, usize> = HashMap::new();
    let mut seen_numbers: HashSet<String> = HashSet::new();
    let mut ready = Vec::new();
    for (line, row) in &data {
        let get = |key: &str| {
            index
                .get(key)
                .and_then(|(i, _)| row.get(*i))
                .cloned()
                .unwrap_or_default()
        };
        let header_of = |key: &str| {
            index
                .get(key)
                .map(|(_, h)| h.clone())
                .unwrap_or_else(|| key.to_string())
        };
        let position_id = |code: &str| {
            codes
                .get(&code.trim().to_ascii_lowercase())
                .filter(|p| p.is_active())
                .map(|p| p.id)
        };
        let mut row_problems = Vec::new();
        let primary_code = get("primary_position");
        let primary = position_id(&primary_code);
        if primary_code.is_empty() {
            row_problems.push(problem(
                *line,
                &header_of("primary_position"),
                "org.primary_required",
                "",
            ));
        } else if primary.is_none() {
            row_problems.push(problem(
                *line,
                &header_of("primary_position"),
                "org.no_such_position",
                &primary_code,
            ));
        }
        let mut others = Vec::new();
        for code in get("other_positions")
            .split([',', '，', ';', '；', '、'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match position_id(code) {
                Some(id) => others.push(id),
                None => row_problems.push(problem(
                    *line,
                    &header_of("other_positions"),
                    "org.no_such_position",
                    code,
                )),
            }
        }
        let username = get("username").to_ascii_lowercase();
        if let Some(first) = seen_usernames
            .insert(username.clone(), *line)
            .filter(|_| !username.is_empty())
        {
            row_problems.push(problem(
                *line,
                &header_of("username"),
                "import.duplicate_in_file",
                &format!("{username} ({first})"),
            ));
        }
        let phone = weiops_core::accounts::normalize_phone(&get("phone"))
            .ok()
            .flatten();
        if let Some(p) = &phone
            && let Some(first) = seen_phones.insert(p.clone(), *line)
        {
            row_problems.push(problem(
                *line,
                &header_of("phone"),
                "import.duplicate_in_file",
                &format!("{p} ({first})"),
            ));
        }
        let number = get("employee_no");
        if !number.is_empty() && !seen_numbers.insert(number.clone()) {
            row_problems.push(problem(
                *line,
                &header_of("employee_no"),
                "import.duplicate_in_file",
                &number,
            ));
        }
        let input = StaffInput {
            user_id: None,
            username: get("username"),
            password: None,
            display_name: get("display_name"),
            phone: Some(get("phone")),
            wechat_id: get("wechat_id"),
            employee_no: Some(number.clone()),
            hire_date: Some(get("hire_date")),
            status: Some(get("status")),
            primary_position_id: primary,
            other_position_ids: others,
            role_ids: vec![],
            notes: get("notes"),
        };
        let mut errors = FieldErrors::default();
        let profile = staff::validate_profile(db, &input, &mut errors).await?;
        if !number.is_empty()
            && sqlx::query("SELECT user_id FROM staff WHERE employee_no = $1")
                .bind(&number)
                .fetch_optional(&db.pool)
                .await?
                .is_some()
        {
            errors.add("employee_no", "org.employee_no_taken");
        }
        let new = NewUser {
            username: input.username.clone(),
            display_name: input.display_name.clone(),
            phone: input.phone.clone(),
            password: None,
            role_ids: vec![],
        };
        let checked = match users::check_new(db, &new, &mut errors).await {
            Ok(c) => Some(c),
            Err(Error::Validation(f)) => {
                for (field, key) in f.0 {
                    // The primary position was already reported with its code.
                    if field == "primary_position_id" {
                        continue;
                    }
                    let column = match field.as_str() {
                        "other_position_ids" => header_of("other_positions"),
                        f => header_of(f),
                    };
                    row_problems.push(problem(*line, &column, &key, &get(&field)));
                }
                None
            }
            Err(e) => return Err(e),
        };
        if row_problems.is_empty()
            && let (Some(checked), Some(profile)) = (checked, profile)
        {
            ready.push(ReadyRow { checked, profile });
        }
        problems.extend(row_problems);
    }
    if !problems.is_empty() {
        return Err(Error::ImportRejected(problems));
    }
    // Every row is right: hash the passwords (the slow part, on the
    // blocking pool), then write everything in one transaction.
    let mut rows = Vec::with_capacity(ready.len());
    for r in ready {
        rows.push((users::hash_new(r.checked).await?, r.profile));
    }
    let mut tx = db.begin_write().await?;
    let mut created = Vec::new();
    for (prepared, profile) in &rows {
        let user_id = users::insert(&mut tx, actor, prepared).await?;
        // The importer sees each new account's password: nobody imports a
        // post holding more than they hold (the same rule as the form).
        staff::check_grants(&mut tx, actor, None, &prepared.role_ids, profile).await?;
        staff::write_profile(&mut tx, user_id, profile, true).await?;
        created.push(ImportedAccount {
            user_id,
            username: prepared.username.clone(),
            display_name: prepared.display_name.clone(),
            password: prepared.generated.clone().unwrap_or_default(),
        });
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("staff.import", "staff", "")
            .summary(format!("{} staff imported", created.len()))
            .after(serde_json::json!({"usernames": created.iter().map(|c| &c.username).collect::<Vec<_>>()})),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// The staff list as a table (Excel/CSV export).
pub fn staff_table(list: &[Staff], t: &dyn Fn(&str) -> String) -> Table {
    Table {
        sheet: t("org.staff"),
        headers: vec![
            t("user.username"),
            t("user.display_name"),
            t("user.phone"),
            t("org.wechat_id"),
            t("org.employee_no"),
            t("org.hire_date"),
            t("org.primary_position"),
            t("org.department"),
            t("org.other_positions"),
            t("common.status"),
            t("org.left_date"),
        ],
        rows: list
            .iter()
            .map(|s| {
                vec![
                    s.username.clone(),
                    s.display_name.clone(),
                    s.phone.clone().unwrap_or_default(),
                    s.wechat_id.clone(),
                    s.employee_no.clone().unwrap_or_default(),
                    s.hire_date.clone().unwrap_or_default(),
                    s.primary().map(|p| p.name.clone()).unwrap_or_default(),
                    s.primary()
                        .map(|p| p.department_name.clone())
                        .unwrap_or_default(),
                    s.others()
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join("、"),
                    t(&format!("org.status_{}", s.status)),
                    s.left_date.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

/// Every position with its duties and KPIs (Excel export).
pub fn positions_table(list: &[Position], t: &dyn Fn(&str) -> String) -> Table {
    Table {
        sheet: t("org.positions"),
        headers: vec![
            t("org.code"),
            t("org.position_name"),
            t("org.department"),
            t("org.reports_to"),
            t("org.role"),
            t("org.headcount"),
            t("org.filled"),
            t("org.summary"),
            t("org.duties"),
            t("org.kpis"),
        ],
        rows: list
            .iter()
            .map(|p| {
                vec![
                    p.code.clone(),
                    p.name.clone(),
                    p.department_name.clone(),
                    p.reports_to_name.clone().unwrap_or_default(),
                    p.role_name.clone().unwrap_or_default(),
                    p.headcount.to_string(),
                    p.filled.to_string(),
                    p.summary.clone(),
                    p.duties
                        .iter()
                        .enumerate()
                        .map(|(i, d)| format!("{}. {d}", i + 1))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    p.kpis
                        .iter()
                        .map(|k| {
                            format!(
                                "{}: {}{} ({}, {})",
                                k.name,
                                k.target,
                                k.unit,
                                t(&format!("org.kpi_{}", k.direction)),
                                t(&format!("org.period_{}", k.period))
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_in_utf8_with_bom_and_gbk() {
        let utf8 = "\u{feff}用户名,姓名\nli,李四\n".as_bytes();
        assert_eq!(
            read_table(utf8).unwrap(),
            vec![vec!["用户名", "姓名"], vec!["li", "李四"]]
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("用户名,姓名\nli,李四\n");
        assert_eq!(read_table(&gbk).unwrap()[1], vec!["li", "李四"]);
    }

    #[test]
    fn reads_the_xlsx_it_writes() {
        let t = staff_template(Locale::ZhCn);
        let bytes = crate::export::to_xlsx(&t).unwrap();
        let rows = read_table(&bytes).unwrap();
        assert_eq!(rows[0][0], "用户名");
        assert_eq!(rows[1][1], "张三");
    }
}
