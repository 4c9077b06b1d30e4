//! `fieldsync import` and `fieldsync export` with real files: CSV written by hand (byte-order
//! mark, Chinese headers, quoted commas, blank lines) and XLSX written with rust_xlsxwriter.
//! A refused import leaves the store file byte for byte as it was; an export imports back as
//! the same leads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;
use serde_json::Value;
use util::Device;

const HEADER: [&str; 6] = [
    "客户名称",
    "联系人",
    "联系方式",
    "来源渠道",
    "预估金额",
    "微信",
];

/// Row `n` of a customer list: company (with a comma, so it must be quoted), contact, phone,
/// source, amount (with a thousands separator), a column nobody maps.
fn customer(n: usize) -> [String; 6] {
    [
        format!("杭州云栖科技, 第{n}分公司"),
        format!("王{n}"),
        format!("138 0013 {n:04}"),
        if n.is_multiple_of(2) {
            "referral"
        } else {
            "trade-show"
        }
        .to_owned(),
        format!("{},500", n + 1),
        format!("wx{n}"),
    ]
}

fn quoted(cell: &str) -> String {
    if cell.contains([',', '"', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// A UTF-8 CSV with a byte-order mark: the header on line 1, then `rows` customers with a
/// blank line after every tenth; `bad` replaces a row's phone with `12ab`. Returns the file and
/// the line each customer is on.
fn csv_file(dir: &Path, rows: usize, bad: Option<usize>) -> (PathBuf, Vec<u64>) {
    let mut text = String::from("\u{feff}");
    text.push_str(&HEADER.join(","));
    text.push('\n');
    let mut line = 1;
    let mut lines = Vec::new();
    for n in 0..rows {
        let mut row = customer(n);
        if bad == Some(n) {
            row[2] = "12ab".to_owned();
        }
        line += 1;
        lines.push(line);
        text.push_str(&row.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(","));
        text.push('\n');
        if n % 10 == 9 {
            text.push('\n');
            line += 1;
        }
    }
    let path = dir.join("customers.csv");
    std::fs::write(&path, text).unwrap();
    (path, lines)
}

/// The same customers as an XLSX sheet (row 1 the header); phones are numbers, as Excel
/// keeps digits typed into a cell, and `bad` gets the text `12ab`.
fn xlsx_file(dir: &Path, rows: usize, bad: Option<usize>) -> PathBuf {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, name) in HEADER.iter().enumerate() {
        sheet.write_string(0, column as u16, *name).unwrap();
    }
    for n in 0..rows {
        let row = customer(n);
        let at = n as u32 + 1;
        for (column, cell) in row.iter().enumerate() {
            sheet.write_string(at, column as u16, cell).unwrap();
        }
        if bad == Some(n) {
            sheet.write_string(at, 2, "12ab").unwrap();
        } else {
            sheet
                .write_number(at, 2, 13_800_130_000.0 + n as f64)
                .unwrap();
        }
    }
    let path = dir.join("customers.xlsx");
    workbook.save(&path).unwrap();
    path
}

fn companies(device: &Device) -> Vec<String> {
    let mut names: Vec<String> = device
        .list(&[])
        .iter()
        .map(|lead| lead["company"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// `lead show --json` of the one lead of `company`.
fn shown_by_company(device: &Device, company: &str) -> Value {
    let leads = device.list(&[]);
    let lead = leads
        .iter()
        .find(|lead| lead["company"] == company)
        .unwrap_or_else(|| panic!("a lead of {company}"));
    device.show(lead["id"].as_str().unwrap())
}

/// Asserts that no import left its scratch folder beside the store.
fn assert_no_scratch_left(device: &Device) {
    let left: Vec<String> = std::fs::read_dir(device.home.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".fieldsync-import-"))
        .collect();
    assert!(left.is_empty(), "scratch folders left behind: {left:?}");
}

/// Runs an import that must be refused; returns its stderr, whose last line is the one error.
fn refused(device: &Device, args: &[&str]) -> String {
    let before = device.store_bytes();
    let output = device.run(args).code(2).get_output().clone();
    assert_eq!(
        device.store_bytes(),
        before,
        "a refused import writes nothing"
    );
    assert_no_scratch_left(device);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.lines().last().unwrap().starts_with("fieldsync: "),
        "{stderr}"
    );
    stderr
}

#[test]
fn a_csv_with_a_bom_chinese_headers_quoted_commas_and_blank_lines_imports_whole() {
    let device = Device::init("manager");
    let (file, _) = csv_file(device.home.path(), 40, None);
    let said = device.ok(&["import", file.to_str().unwrap()]);
    assert!(said.contains("imported"), "{said}");
    assert!(said.contains("40 rows: 40 new leads"), "{said}");
    assert!(said.contains("not imported: the columns 微信"), "{said}");
    assert_eq!(device.list(&[]).len(), 40);
    // The quoted comma stays in the company name.
    let shown = shown_by_company(&device, "杭州云栖科技, 第3分公司");
    assert_eq!(shown["contact"], "王3");
    assert_eq!(shown["phone"], "138 0013 0003");
    assert_eq!(shown["source"], "trade-show");
    assert_eq!(shown["amount"], 4500.0);
    assert_eq!(shown["owner"], "manager");
    assert_no_scratch_left(&device);
}

#[test]
fn a_bad_phone_on_line_37_is_reported_as_line_37_and_nothing_is_imported() {
    let device = Device::init("manager");
    let (file, lines) = csv_file(device.home.path(), 40, Some(32));
    assert_eq!(
        lines[32], 37,
        "row 32 is on line 37 after the header and three blank lines"
    );
    let file = file.to_str().unwrap();
    let stderr = refused(&device, &["import", file]);
    assert!(
        stderr.contains("line 37, column C (联系方式): phone: '12ab' is not a phone number"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("1 row is invalid: nothing was imported (fix them, or give --skip-invalid to import the others)\n"),
        "{stderr}"
    );
    assert!(device.list(&[]).is_empty());

    let said = device.ok(&["import", file, "--skip-invalid"]);
    assert!(said.contains("line 37, column C (联系方式)"), "{said}");
    assert!(said.contains("40 rows: 39 new leads, 1 invalid"), "{said}");
    assert_eq!(device.list(&[]).len(), 39);
}

#[test]
fn an_xlsx_sheet_imports_with_numeric_phones_and_reports_its_row_numbers() {
    let device = Device::init("manager");
    let bad = xlsx_file(device.home.path(), 40, Some(35));
    let stderr = refused(&device, &["import", bad.to_str().unwrap()]);
    assert!(
        stderr.contains("line 37, column C (联系方式): phone:"),
        "{stderr}"
    );

    let good = xlsx_file(device.home.path(), 40, None);
    let said = device.ok(&["import", good.to_str().unwrap()]);
    assert!(said.contains("40 rows: 40 new leads"), "{said}");
    let shown = shown_by_company(&device, "杭州云栖科技, 第0分公司");
    assert_eq!(
        shown["phone"], "13800130000",
        "a number cell reads as its digits"
    );
}

#[test]
fn a_dry_run_lists_what_would_happen_and_writes_nothing() {
    let device = Device::init("manager");
    let (file, _) = csv_file(device.home.path(), 12, Some(4));
    let before = device.store_bytes();
    // The import would stop: the dry run exits 1 (a clean "no"), its report on stdout.
    let output = device
        .run(&["import", file.to_str().unwrap(), "--dry-run"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let said = String::from_utf8(output).unwrap();
    assert!(said.contains("line 6, column C (联系方式)"), "{said}");
    assert!(
        said.contains("dry run: 12 rows: 11 new leads, 1 invalid; nothing was written"),
        "{said}"
    );
    assert!(
        said.contains("the import would stop: 1 row is invalid"),
        "{said}"
    );
    assert_eq!(device.store_bytes(), before);
    assert_no_scratch_left(&device);
}

#[test]
fn an_import_removes_the_scratch_folders_of_killed_imports_and_no_others() {
    let device = Device::init("manager");
    let home = device.home.path();
    // What a killed import leaves: its folder, with a lock file nobody holds any more.
    let abandoned = home.join(".fieldsync-import-killed");
    std::fs::create_dir(&abandoned).unwrap();
    std::fs::write(abandoned.join("in-use"), b"").unwrap();
    std::fs::write(abandoned.join("plan"), vec![0u8; 4096]).unwrap();
    // An import still running holds its lock.
    let running = home.join(".fieldsync-import-running");
    std::fs::create_dir(&running).unwrap();
    let held = std::fs::File::create(running.join("in-use")).unwrap();
    held.lock().unwrap();
    // A folder without the lock file is not judged.
    let unknown = home.join(".fieldsync-import-unknown");
    std::fs::create_dir(&unknown).unwrap();

    let (file, _) = csv_file(home, 3, None);
    device.ok(&["import", file.to_str().unwrap(), "--dry-run"]);
    assert!(!abandoned.exists(), "the killed import's folder is removed");
    assert!(running.exists(), "the running import's folder is kept");
    assert!(unknown.exists(), "a folder without a lock file is kept");
    drop(held);
}

#[test]
fn a_file_longer_than_a_drafting_chunk_keeps_its_lines_order_and_duplicates() {
    // Rows are checked 1,024 at a time, one chunk while the next is drafted: 2,600 rows span
    // three chunks, with a bad row in the third and a duplicate of the first chunk at the end.
    let device = Device::init("manager");
    let (file, lines) = csv_file(device.home.path(), 2_600, Some(2_100));
    let repeat = customer(5)
        .iter()
        .map(|cell| quoted(cell))
        .collect::<Vec<_>>()
        .join(",");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&repeat);
    text.push('\n');
    std::fs::write(&file, text).unwrap();
    let repeat_line = lines[2_599] + 2;
    let file = file.to_str().unwrap();

    let stderr = refused(&device, &["import", file, "--duplicates", "skip"]);
    assert!(
        stderr.contains(&format!("line {}, column C (联系方式)", lines[2_100])),
        "{stderr}"
    );
    let said = device.ok(&["import", file, "--skip-invalid", "--duplicates", "skip"]);
    assert!(
        said.contains(&format!(
            "line {repeat_line} has the phone of line {}",
            lines[5]
        )),
        "{said}"
    );
    assert!(
        said.contains("2601 rows: 2599 new leads, 1 duplicate, 1 invalid"),
        "{said}"
    );
    assert_eq!(device.list(&[]).len(), 2_599);
    assert_eq!(
        shown_by_company(&device, "杭州云栖科技, 第2599分公司")["contact"],
        "王2599",
        "the last row's cells stay together"
    );
    assert_no_scratch_left(&device);
}

#[test]
fn duplicates_in_the_store_and_in_the_file_are_refused_skipped_or_merged() {
    let device = Device::init("manager");
    let stored = device.add(&[
        "--company",
        "宁波港务",
        "--contact",
        "李雷",
        "--phone",
        "138 0013 0000",
    ]);
    let dir = device.home.path();
    let file = dir.join("dupes.csv");
    std::fs::write(
        &file,
        "company,contact,phone,email,industry\n\
         宁波港务集团,李雷,+86 (138) 0013-0000,,港口\n\
         温州鞋业,陈静,139 0000 1111,chen@example.com,\n\
         温州鞋业 ,陈静,,,制造\n\
         上海航运,周强,,ZHOU@example.com,\n\
         上海航运二部,赵六,,zhou@Example.com,\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let stderr = refused(&device, &["import", file]);
    for expected in [
        "duplicate: line 2 has the phone of stored lead",
        "duplicate: line 4 has the company and contact of line 3",
        "duplicate: line 6 has the email of line 5",
        "3 rows repeat leads: nothing was imported (give --duplicates skip",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }

    let skipped = Device::init("manager");
    skipped.add(&[
        "--company",
        "宁波港务",
        "--contact",
        "李雷",
        "--phone",
        "138 0013 0000",
    ]);
    let said = skipped.ok(&["import", file, "--duplicates", "skip"]);
    assert!(said.contains("5 rows: 2 new leads, 3 duplicates"), "{said}");
    assert_eq!(companies(&skipped), ["上海航运", "宁波港务", "温州鞋业"]);

    let said = device.ok(&["import", file, "--duplicates", "merge"]);
    assert!(
        said.contains("5 rows: 2 new leads, 3 merged into existing leads"),
        "{said}"
    );
    assert_eq!(
        companies(&device),
        ["上海航运二部", "宁波港务集团", "温州鞋业"]
    );
    let merged = device.show(&stored);
    assert_eq!(merged["company"], "宁波港务集团");
    assert_eq!(merged["industry"], "港口");
    let history = device.ok(&["history", &stored]);
    assert!(
        history.contains("company: 宁波港务 -> 宁波港务集团"),
        "{history}"
    );
    let wenzhou = shown_by_company(&device, "温州鞋业");
    assert_eq!(
        wenzhou["industry"], "制造",
        "a later row merges into an earlier one"
    );
    assert_eq!(wenzhou["email"], "chen@example.com");
}

#[test]
fn maps_name_unrecognised_columns_and_bad_maps_are_refused_in_one_line() {
    let device = Device::init("manager");
    let file = device.home.path().join("odd.csv");
    std::fs::write(&file, "单位,对接人,手机\n台州模具,钱七,137 0000 2222\n").unwrap();
    let file = file.to_str().unwrap();
    let before = device.store_bytes();
    let error = device.fails(&["import", file]);
    assert_eq!(
        error,
        "fieldsync: no column holds the company: name its column with --map COLUMN=company (the columns are 单位, 对接人, 手机)"
    );
    let error = device.fails(&["import", file, "--map", "单位=company", "--map", "B=wechat"]);
    assert!(
        error.contains("'wechat' is not a field; use one of company, contact"),
        "{error}"
    );
    assert_eq!(device.store_bytes(), before);
    let said = device.ok(&[
        "import",
        file,
        "--map",
        "单位=company",
        "--map",
        "B=contact",
    ]);
    assert!(said.contains("1 row: 1 new lead"), "{said}");
    let lead = &device.list(&[])[0];
    assert_eq!(lead["company"], "台州模具");
    assert_eq!(lead["contact"], "钱七");
}

#[test]
fn files_that_cannot_be_imported_are_refused_in_one_line() {
    let device = Device::init("manager");
    let dir = device.home.path();
    let gbk = dir.join("gbk.csv");
    // "客户名称,联系人" encoded as GBK, as Excel saves "CSV" on a Chinese Windows.
    std::fs::write(
        &gbk,
        b"\xbf\xcd\xbb\xa7\xc3\xfb\xb3\xc6,\xc1\xaa\xcf\xb5\xc8\xcb\n",
    )
    .unwrap();
    let error = device.fails(&["import", gbk.to_str().unwrap()]);
    assert!(
        error.contains("line 1 is not UTF-8 text: save the sheet as \"CSV UTF-8\""),
        "{error}"
    );
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "\n\n").unwrap();
    let error = device.fails(&["import", empty.to_str().unwrap()]);
    assert!(
        error.ends_with("the file is empty: it needs a header row, then one row per lead"),
        "{error}"
    );
    let error = device.fails(&["import", dir.join("leads.xls").to_str().unwrap()]);
    assert!(
        error.contains("only .csv and .xlsx files can be imported"),
        "{error}"
    );
    let error = device.fails(&["import", dir.join("missing.csv").to_str().unwrap()]);
    assert!(error.starts_with("fieldsync: cannot read"), "{error}");
}

#[test]
fn outcomes_are_checked_with_the_leads_rules_before_anything_is_written() {
    let device = Device::init("manager");
    let file = device.home.path().join("closed.csv");
    std::fs::write(
        &file,
        "company,contact,stage,outcome,deal_amount,loss_reason,outcome_at\n\
         宁波港务,李雷,closing,won,,,\n\
         温州鞋业,陈静,negotiation,lost,,weather,\n\
         苏州丝绸,周强,closing,won,5000,,2001-01-01\n\
         上海航运,赵六,closing,won,5000,,\n",
    )
    .unwrap();
    let stderr = refused(&device, &["import", file.to_str().unwrap()]);
    for expected in [
        "line 2: outcome: a won lead needs its deal_amount",
        "line 3, column F (loss_reason): reason: unknown loss reason 'weather'",
        "line 4: a win cannot be dated",
        "3 rows are invalid: nothing was imported",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
    assert!(device.list(&[]).is_empty());
}

/// What must survive an export and an import.
fn portrait(device: &Device) -> Vec<Value> {
    let mut leads: Vec<Value> = device
        .list(&[])
        .iter()
        .map(|lead| {
            let shown = device.show(lead["id"].as_str().unwrap());
            let kept = [
                "company",
                "contact",
                "title",
                "phone",
                "email",
                "industry",
                "size",
                "source",
                "priority",
                "amount",
                "expected_close",
                "notes",
                "owner",
                "stage",
                "stage_entered_at",
                "created_at",
                "outcome",
                "outcome_at",
                "deal_amount",
                "loss_reason",
            ];
            let mut kept: serde_json::Map<String, Value> = kept
                .iter()
                .map(|key| ((*key).to_owned(), shown[key].clone()))
                .collect();
            let closing_note = shown["outcomes"]
                .as_array()
                .and_then(|events| events.last())
                .map_or(Value::Null, |event| event["note"].clone());
            kept.insert("closing_note".to_owned(), closing_note);
            kept.into()
        })
        .collect();
    leads.sort_by_key(|lead| lead["company"].as_str().unwrap().to_owned());
    leads
}

#[test]
fn an_export_imports_back_as_the_same_leads_in_csv_and_xlsx() {
    let source = Device::init("manager");
    let a = source.add(&[
        "--company",
        "深圳腾飞科技",
        "--contact",
        "王芳",
        "--phone",
        "+86 138 0013 8000",
        "--email",
        "wang@tengfei.cn",
        "--source",
        "referral",
        "--amount",
        "120000.5",
        "--expected-close",
        "2027-01-15",
        "--industry",
        "制造",
        "--note",
        "两行\n备注",
        "--owner",
        "lina",
        "--at",
        "2026-03-02T09:30:00+08:00",
    ]);
    source.ok(&["move", &a, "solution", "--at", "2026-04-01T10:00:00+08:00"]);
    source.ok(&[
        "log",
        &a,
        "--channel",
        "visit",
        "--summary",
        "现场演示",
        "--next",
        "报价",
        "--due",
        "2026-12-01",
        "--at",
        "2026-04-02T15:00:00+08:00",
    ]);
    // A deal won (which enters account care), one lost at negotiation for a reason that needs
    // a note, one abandoned.
    let won = source.add(&[
        "--company",
        "宁波港务",
        "--contact",
        "李雷",
        "--at",
        "2026-03-03",
    ]);
    source.ok(&["move", &won, "closing", "--at", "2026-04-01"]);
    source.ok(&["won", &won, "--amount", "88000", "--at", "2026-04-20"]);
    let lost = source.add(&[
        "--company",
        "温州鞋业",
        "--contact",
        "陈静",
        "--at",
        "2026-03-04",
    ]);
    source.ok(&["move", &lost, "negotiation", "--at", "2026-04-02"]);
    source.ok(&[
        "lost",
        &lost,
        "--reason",
        "other",
        "--note",
        "客户改用自建系统",
        "--at",
        "2026-04-22",
    ]);
    let dropped = source.add(&[
        "--company",
        "苏州丝绸",
        "--contact",
        "周强",
        "--at",
        "2026-03-05",
    ]);
    source.ok(&[
        "abandon",
        &dropped,
        "--reason",
        "no-budget",
        "--at",
        "2026-04-23",
    ]);
    source.add(&[
        "--company",
        "Acme, Inc.",
        "--contact",
        "Bob \"B\" Smith",
        "--priority",
        "high",
    ]);
    let dir = source.home.path();
    for (format, labels, name) in [
        ("csv", "keys", "leads.csv"),
        ("xlsx", "keys", "leads.xlsx"),
        ("csv", "zh", "线索.csv"),
        ("xlsx", "zh", "线索.xlsx"),
    ] {
        let file = dir.join(name);
        let said = source.ok(&[
            "export",
            "--format",
            format,
            "--labels",
            labels,
            "--out",
            file.to_str().unwrap(),
        ]);
        assert_eq!(said.trim(), format!("wrote 5 leads to {}", file.display()));
        let copy = Device::init("someone-else");
        let said = copy.ok(&["import", file.to_str().unwrap()]);
        assert!(said.contains("5 rows: 5 new leads"), "{said}");
        assert_eq!(
            portrait(&copy),
            portrait(&source),
            "{format} {labels} round trip"
        );
    }
    // The Chinese export reads as a Chinese team writes its sheet.
    let chinese = source.ok(&["export", "--labels", "zh"]);
    for expected in [
        "客户名称",
        "来源渠道",
        "销售阶段",
        "成交",
        "丢单",
        "放弃",
        "高",
        "其他",
    ] {
        assert!(chinese.contains(expected), "{expected} in {chinese}");
    }

    let json: Value = serde_json::from_str(&source.ok(&["export", "--format", "json"])).unwrap();
    let leads = json.as_array().unwrap();
    assert_eq!(leads.len(), 5);
    let tengfei = leads.iter().find(|lead| lead["id"] == a.as_str()).unwrap();
    assert_eq!(tengfei["stage"], "solution");
    assert_eq!(tengfei["amount"], 120000.5);
    assert_eq!(tengfei["followups"], 1);
    assert_eq!(tengfei["last_followup"], "visit: 现场演示");
    assert_eq!(tengfei["next_due"], "2026-12-01");

    let followups = source.ok(&["export", "--followups"]);
    let mut reader = csv::Reader::from_reader(followups.trim_start_matches('\u{feff}').as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0][0], a.as_str());
    assert_eq!(&records[0][5], "visit");
    assert_eq!(&records[0][6], "现场演示");

    let error = source.fails(&["export", "--format", "xlsx"]);
    assert_eq!(
        error,
        "fieldsync: format: an XLSX export needs a file: give --out leads.xlsx"
    );
}

#[test]
fn a_sheet_written_the_chinese_way_imports_in_the_teams_money_unit() {
    let device = Device::init("lina");
    let said = device.ok(&[
        "pipeline", "edit", "currency", "CNY", "--unit", "10000", "--label", "万元",
    ]);
    assert!(said.contains("amounts are now in 万元"), "{said}");
    let file = device.home.path().join("客户.csv");
    std::fs::write(
        &file,
        "客户名称,联系人,预估金额,预计成交日期,创建时间\n\
         深圳腾飞科技,王芳,20万,2026/12/28,2026年3月2日\n\
         杭州云栖科技,陈静,\"¥200,000\",2026年12月28日,2026/3/3\n\
         宁波港务,李雷,25,2026-12-28,2026-03-04\n",
    )
    .unwrap();
    device.ok(&["import", file.to_str().unwrap()]);
    let mut amounts: Vec<(String, f64, String)> = device
        .list(&[])
        .iter()
        .map(|lead| {
            (
                lead["company"].as_str().unwrap().to_owned(),
                lead["amount"].as_f64().unwrap(),
                lead["expected_close"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    amounts.sort_by(|a, b| a.0.cmp(&b.0));
    // Every amount is 20 or 25 in units of 10,000 CNY.
    assert_eq!(
        amounts,
        [
            ("宁波港务".to_owned(), 25.0, "2026-12-28".to_owned()),
            ("杭州云栖科技".to_owned(), 20.0, "2026-12-28".to_owned()),
            ("深圳腾飞科技".to_owned(), 20.0, "2026-12-28".to_owned()),
        ]
    );
    // The unit stands beside every amount: lists, reports, exports (which import back).
    let listed = device.ok(&["lead", "list"]);
    assert!(listed.contains("AMOUNT (万元)"), "{listed}");
    let report = device.ok(&["report", "--period", "year", "--format", "md"]);
    assert!(report.contains("amounts in 万元"), "{report}");
    let export = device.ok(&["export", "--labels", "zh"]);
    assert!(export.contains("预估金额（万元）"), "{export}");
    let copy = Device::init("lina");
    copy.ok(&[
        "pipeline", "edit", "currency", "CNY", "--unit", "10000", "--label", "万元",
    ]);
    let back = copy.home.path().join("back.csv");
    std::fs::write(&back, export).unwrap();
    copy.ok(&["import", back.to_str().unwrap()]);
    assert_eq!(portrait(&copy), portrait(&device));
    let bad = device.fails(&["pipeline", "edit", "currency", "yuan"]);
    assert!(bad.contains("'yuan' is not a currency code"), "{bad}");
}

#[test]
fn a_dry_run_shows_the_columns_and_fails_when_the_import_would_stop() {
    let device = Device::init("lina");
    device.ok(&["pipeline", "edit", "source-alias", "referral", "老同学介绍"]);
    let file = device.home.path().join("客户.csv");
    std::fs::write(
        &file,
        "客户名称,联系人,来源,手机\n\
         深圳腾飞科技,王芳,展会,13800138000\n\
         杭州云栖科技,陈静,朋友介绍,13900139000\n\
         宁波港务,李雷,老同学介绍,13700137000\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let before = device.store_bytes();
    let dry = device.ok(&["import", path, "--dry-run", "--owner", "lina"]);
    assert!(
        dry.contains("columns: A (客户名称) → company, B (联系人) → contact, C (来源) → source, D (手机) → phone"),
        "{dry}"
    );
    assert!(
        dry.contains("3 rows: 3 new leads; nothing was written"),
        "{dry}"
    );
    assert_eq!(device.store_bytes(), before, "a dry run writes nothing");

    // A sheet the import would refuse: the dry run says why and exits 1.
    let bad = device.home.path().join("bad.csv");
    std::fs::write(&bad, "客户名称,联系人,来源\n温州鞋业,陈静,地推\n").unwrap();
    let output = device
        .run(&["import", bad.to_str().unwrap(), "--dry-run"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let said = String::from_utf8(output).unwrap();
    assert!(said.contains("unknown source '地推'"), "{said}");
    assert!(said.contains("the import would stop"), "{said}");

    // The sources by their aliases, and every row to the owner given.
    device.ok(&["import", path, "--owner", "wangwei"]);
    let mut leads: Vec<(String, String, String)> = device
        .list(&[])
        .iter()
        .map(|lead| {
            (
                lead["company"].as_str().unwrap().to_owned(),
                lead["source"].as_str().unwrap().to_owned(),
                lead["owner"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    leads.sort();
    assert_eq!(
        leads,
        [
            ("宁波港务".into(), "referral".into(), "wangwei".into()),
            ("杭州云栖科技".into(), "referral".into(), "wangwei".into()),
            ("深圳腾飞科技".into(), "trade-show".into(), "wangwei".into()),
        ]
    );
}

/// `plain`, a workbook, with its first sheet replaced by one whose second row holds a cell of
/// `cell_bytes` letters: a workbook of a few hundred kilobytes that unpacks to far more.
fn zip_bomb(plain: &Path, cell_bytes: usize) -> PathBuf {
    use std::io::Write;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(plain).unwrap()).unwrap();
    let path = plain.with_file_name("bomb.xlsx");
    let mut bomb = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for index in 0..archive.len() {
        let part = archive.by_index_raw(index).unwrap();
        let name = part.name().unwrap().into_owned();
        if name != "xl/worksheets/sheet1.xml" {
            bomb.raw_copy_file(part).unwrap();
            continue;
        }
        drop(part);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        bomb.start_file(name, options).unwrap();
        write!(
            bomb,
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c><c r="B1" t="inlineStr"><is><t>联系人</t></is></c><c r="C1" t="inlineStr"><is><t>备注</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Bomb Co</t></is></c><c r="B2" t="inlineStr"><is><t>Boom</t></is></c><c r="C2" t="inlineStr"><is><t>"#
        )
        .unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..cell_bytes >> 20 {
            bomb.write_all(&chunk).unwrap();
        }
        write!(bomb, "</t></is></c></row></sheetData></worksheet>").unwrap();
    }
    bomb.finish().unwrap();
    path
}

#[test]
fn a_zip_bomb_workbook_is_refused_before_it_unpacks() {
    let device = Device::init("lina");
    let dir = tempfile::tempdir().unwrap();
    let plain = xlsx_file(dir.path(), 2, None);
    let bomb = zip_bomb(&plain, 400 << 20);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 4 << 20);
    // Run under /usr/bin/time to see the most memory the import took.
    let fieldsync = device.process();
    let output = std::process::Command::new("/usr/bin/time")
        .args(["-f", "peak %M KB"])
        .arg(fieldsync.get_program())
        .args(["import", bomb.to_str().unwrap()])
        .envs(fieldsync.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .expect("/usr/bin/time runs (scripts/install-test-deps installs it)");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("the workbook unpacks to 400 MB, more than the 256 MB an import reads"),
        "{stderr}"
    );
    let peak_kb: u64 = stderr
        .lines()
        .find_map(|line| {
            line.strip_prefix("peak ")?
                .strip_suffix(" KB")?
                .parse()
                .ok()
        })
        .unwrap();
    assert!(peak_kb < 100 << 10, "the import took {} MB", peak_kb >> 10);
    assert!(device.list(&[]).is_empty());
    // The same workbook without the bomb imports.
    device.ok(&["import", plain.to_str().unwrap()]);
    assert_eq!(device.list(&[]).len(), 2);
}

#[test]
fn commands_read_the_store_as_it_was_while_a_long_import_writes() {
    let device = Device::init("lina");
    device.add(&["--company", "Already Here", "--contact", "A"]);
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = csv_file(dir.path(), 3_000, None);
    let mut import = device
        .process()
        .args(["import", csv.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read the store over and over for as long as the import runs.
    let (mut reads, mut counts, mut refused) = (0, std::collections::BTreeSet::new(), Vec::new());
    while import.try_wait().unwrap().is_none() {
        let output = device
            .process()
            .args(["lead", "list", "--json"])
            .output()
            .unwrap();
        if output.status.success() {
            reads += 1;
            let leads: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
            counts.insert(leads.len());
        } else {
            refused.push(String::from_utf8_lossy(&output.stderr).into_owned());
        }
    }
    assert!(import.wait().unwrap().success());
    assert!(
        refused.is_empty(),
        "reads refused during the import: {refused:?}"
    );
    assert!(reads > 1, "the import ended before a second read");
    // Each read saw the store as last committed: before the import, or after all of it.
    assert!(counts.iter().all(|n| *n == 1 || *n == 3_001), "{counts:?}");
    assert_eq!(device.list(&[]).len(), 3_001);
    assert_no_scratch_left(&device);
}
