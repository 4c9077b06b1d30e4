//! Which column of a sheet holds what: the header matched against English and Chinese names
//! (`客户名称`, `联系方式`, `Company name`, the field keys themselves), overridden by `--map`.

use fieldsync_model::Field;

use crate::TransferError;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A lead field.
    Field(Field),
    /// The lead number (`LX2611KQM007`), kept as given.
    Number,
    /// The responsible rep.
    Owner,
    /// The stage the lead is in.
    Stage,
    /// When the lead entered that stage.
    StageEnteredAt,
    /// When the lead came in.
    CreatedAt,
    /// open, won, lost or abandoned.
    Outcome,
    /// When it was won, lost or abandoned.
    OutcomeAt,
    /// The amount it was won for.
    DealAmount,
    /// Why it was lost or abandoned (a loss-reason key or label).
    LossReason,
    /// The note closing it (required for a loss reason such as `other`).
    OutcomeNote,
    /// Nothing to import (`--map COLUMN=ignore`).
    Ignore,
}

/// The names a target is given in `--map` and in exported headers, besides field names.
const OTHER_TARGETS: [(&str, Target); 11] = [
    ("number", Target::Number),
    ("owner", Target::Owner),
    ("stage", Target::Stage),
    ("stage_entered_at", Target::StageEnteredAt),
    ("created_at", Target::CreatedAt),
    ("outcome", Target::Outcome),
    ("outcome_at", Target::OutcomeAt),
    ("deal_amount", Target::DealAmount),
    ("loss_reason", Target::LossReason),
    ("outcome_note", Target::OutcomeNote),
    ("ignore", Target::Ignore),
];

/// Header names recognised without `--map`, compared after [`normalize`].
const ALIASES: &[(&str, Target)] = &[
    ("companyname", Target::Field(Field::Company)),
    ("customer", Target::Field(Field::Company)),
    ("customername", Target::Field(Field::Company)),
    ("account", Target::Field(Field::Company)),
    ("客户名称", Target::Field(Field::Company)),
    ("客户", Target::Field(Field::Company)),
    ("公司", Target::Field(Field::Company)),
    ("公司名称", Target::Field(Field::Company)),
    ("企业名称", Target::Field(Field::Company)),
    ("单位名称", Target::Field(Field::Company)),
    ("contactname", Target::Field(Field::Contact)),
    ("contactperson", Target::Field(Field::Contact)),
    ("name", Target::Field(Field::Contact)),
    ("联系人", Target::Field(Field::Contact)),
    ("联系人姓名", Target::Field(Field::Contact)),
    ("姓名", Target::Field(Field::Contact)),
    ("jobtitle", Target::Field(Field::Title)),
    ("position", Target::Field(Field::Title)),
    ("职位", Target::Field(Field::Title)),
    ("职务", Target::Field(Field::Title)),
    ("mobile", Target::Field(Field::Phone)),
    ("tel", Target::Field(Field::Phone)),
    ("telephone", Target::Field(Field::Phone)),
    ("phonenumber", Target::Field(Field::Phone)),
    ("联系方式", Target::Field(Field::Phone)),
    ("电话", Target::Field(Field::Phone)),
    ("联系电话", Target::Field(Field::Phone)),
    ("手机", Target::Field(Field::Phone)),
    ("手机号", Target::Field(Field::Phone)),
    ("手机号码", Target::Field(Field::Phone)),
    ("e-mail", Target::Field(Field::Email)),
    ("mail", Target::Field(Field::Email)),
    ("emailaddress", Target::Field(Field::Email)),
    ("邮箱", Target::Field(Field::Email)),
    ("电子邮件", Target::Field(Field::Email)),
    ("电子邮箱", Target::Field(Field::Email)),
    ("行业", Target::Field(Field::Industry)),
    ("所属行业", Target::Field(Field::Industry)),
    ("companysize", Target::Field(Field::Size)),
    ("规模", Target::Field(Field::Size)),
    ("公司规模", Target::Field(Field::Size)),
    ("企业规模", Target::Field(Field::Size)),
    ("channel", Target::Field(Field::Source)),
    ("leadsource", Target::Field(Field::Source)),
    ("来源", Target::Field(Field::Source)),
    ("来源渠道", Target::Field(Field::Source)),
    ("渠道", Target::Field(Field::Source)),
    ("线索来源", Target::Field(Field::Source)),
    ("优先级", Target::Field(Field::Priority)),
    ("estimatedamount", Target::Field(Field::Amount)),
    ("dealsize", Target::Field(Field::Amount)),
    ("value", Target::Field(Field::Amount)),
    ("预估金额", Target::Field(Field::Amount)),
    ("预计金额", Target::Field(Field::Amount)),
    ("金额", Target::Field(Field::Amount)),
    ("商机金额", Target::Field(Field::Amount)),
    ("closedate", Target::Field(Field::ExpectedClose)),
    ("预计成交日期", Target::Field(Field::ExpectedClose)),
    ("预计签约日期", Target::Field(Field::ExpectedClose)),
    ("remarks", Target::Field(Field::Notes)),
    ("备注", Target::Field(Field::Notes)),
    ("痛点", Target::Field(Field::PainPoints)),
    ("目标", Target::Field(Field::Goals)),
    ("决策链", Target::Field(Field::DecisionChain)),
    ("预算", Target::Field(Field::Budget)),
    ("区域", Target::Field(Field::Region)),
    ("地区", Target::Field(Field::Region)),
    ("大区", Target::Field(Field::Region)),
    ("territory", Target::Field(Field::Region)),
    ("项目周期", Target::Field(Field::Timeline)),
    ("时间表", Target::Field(Field::Timeline)),
    ("竞争对手", Target::Field(Field::Competitors)),
    ("竞品", Target::Field(Field::Competitors)),
    ("合作历史", Target::Field(Field::History)),
    ("风险", Target::Field(Field::Risks)),
    ("rep", Target::Owner),
    ("salesrep", Target::Owner),
    ("负责人", Target::Owner),
    ("销售", Target::Owner),
    ("跟进人", Target::Owner),
    ("归属销售", Target::Owner),
    ("阶段", Target::Stage),
    ("销售阶段", Target::Stage),
    ("created", Target::CreatedAt),
    ("createdat", Target::CreatedAt),
    ("创建时间", Target::CreatedAt),
    ("录入时间", Target::CreatedAt),
    ("线索编号", Target::Number),
    ("客户编号", Target::Number),
    ("进入阶段时间", Target::StageEnteredAt),
    ("结果", Target::Outcome),
    ("结束时间", Target::OutcomeAt),
    ("结果说明", Target::OutcomeNote),
    ("成交金额", Target::DealAmount),
    ("输单原因", Target::LossReason),
    ("丢单原因", Target::LossReason),
    ("lossnote", Target::OutcomeNote),
    ("输单说明", Target::OutcomeNote),
    ("丢单说明", Target::OutcomeNote),
];

/// The Chinese header of each column an export writes, by its English name; the lead
/// columns' are among the names [`Target::of_header`] knows, so a Chinese export imports back.
const CHINESE_HEADERS: &[(&str, &str)] = &[
    ("id", "线索ID"),
    ("number", "线索编号"),
    ("company", "客户名称"),
    ("contact", "联系人"),
    ("title", "职位"),
    ("phone", "联系电话"),
    ("email", "邮箱"),
    ("industry", "行业"),
    ("size", "公司规模"),
    ("region", "区域"),
    ("source", "来源渠道"),
    ("priority", "优先级"),
    ("amount", "预估金额"),
    ("expected_close", "预计成交日期"),
    ("notes", "备注"),
    ("pain_points", "痛点"),
    ("goals", "目标"),
    ("decision_chain", "决策链"),
    ("budget", "预算"),
    ("timeline", "项目周期"),
    ("competitors", "竞争对手"),
    ("history", "合作历史"),
    ("risks", "风险"),
    ("owner", "负责人"),
    ("stage", "销售阶段"),
    ("stage_entered_at", "进入阶段时间"),
    ("created_at", "创建时间"),
    ("outcome", "结果"),
    ("outcome_at", "结束时间"),
    ("deal_amount", "成交金额"),
    ("loss_reason", "丢单原因"),
    ("outcome_note", "结果说明"),
    ("followups", "跟进次数"),
    ("last_followup_at", "最近跟进时间"),
    ("last_followup", "最近跟进"),
    ("next_step", "下一步"),
    ("next_due", "下一步截止"),
    ("lead_id", "线索ID"),
    ("at", "跟进时间"),
    ("recorded_at", "记录时间"),
    ("recorded_by", "记录人"),
    ("channel", "跟进方式"),
    ("summary", "跟进内容"),
    ("feedback", "客户反馈"),
];

/// The Chinese header of an exported column (its English name when it has none).
pub fn chinese_header(name: &'static str) -> &'static str {
    CHINESE_HEADERS
        .iter()
        .find(|(english, _)| *english == name)
        .map_or(name, |(_, chinese)| chinese)
}

/// A header as compared: lower case, without spaces, `_`, `-`, a trailing `*` or a colon, or
/// a unit in brackets after it (`amount (万元)`, `预估金额（万元）`).
fn normalize(header: &str) -> String {
    let header = header.trim();
    let header = match header.strip_suffix([')', '）']) {
        Some(open) => open.rfind(['(', '（']).map_or(header, |at| &header[..at]),
        None => header,
    };
    header
        .trim()
        .trim_end_matches(['*', ':', '：'])
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Target {
    /// A target by the name `--map` gives it: a field's name or key, or one of `owner`,
    /// `stage`, `stage_entered_at`, `created_at`, `outcome`, `outcome_at`, `deal_amount`,
    /// `loss_reason`, `outcome_note`, `ignore`.
    pub fn named(name: &str) -> Option<Target> {
        let name = name.trim();
        Field::from_name(name).map(Target::Field).or_else(|| {
            OTHER_TARGETS
                .iter()
                .find(|(other, _)| normalize(other) == normalize(name))
                .map(|(_, target)| *target)
        })
    }

    /// The target's name, as `--map` and exported headers write it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Field(field) => field.key(),
            other => OTHER_TARGETS
                .iter()
                .find(|(_, target)| *target == other)
                .map_or("ignore", |(name, _)| name),
        }
    }

    /// The target a header names without `--map`, if any.
    pub fn of_header(header: &str) -> Option<Target> {
        let wanted = normalize(header);
        Field::ALL
            .iter()
            .find(|field| normalize(field.key()) == wanted)
            .map(|field| Target::Field(*field))
            .or_else(|| {
                OTHER_TARGETS
                    .iter()
                    .chain(ALIASES)
                    .find(|(name, _)| normalize(name) == wanted)
                    .map(|(_, target)| *target)
            })
    }

    /// Every name `--map` takes, for error messages.
    fn all_names() -> String {
        Field::ALL
            .iter()
            .map(|field| field.key())
            .chain(OTHER_TARGETS.iter().map(|(name, _)| *name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod chinese_tests {
    use super::*;

    #[test]
    fn every_chinese_lead_header_names_its_column() {
        for (english, chinese) in CHINESE_HEADERS {
            let Some(target) = Target::named(english) else {
                // Columns an import does not take (id, counts, the latest follow-up) must not
                // be mistaken for one it does.
                assert_eq!(Target::of_header(chinese), None, "{chinese}");
                continue;
            };
            assert_eq!(Target::of_header(chinese), Some(target), "{chinese}");
        }
    }
}

/// A column's spreadsheet letter: 0 is A, 26 is AA.
pub fn column_letter(index: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = index + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(digit).unwrap_or(0)));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// The columns of one sheet and what each holds.
#[derive(Clone, Debug)]
pub struct Mapping {
    headers: Vec<String>,
    targets: Vec<Option<Target>>,
}

impl Mapping {
    /// Maps `headers`: `overrides` (`COLUMN=field`, the column by its header text or letter)
    /// first, then the names every header is known by. Company and contact must be mapped,
    /// and no target twice.
    pub fn new(headers: &[String], overrides: &[String]) -> Result<Mapping, TransferError> {
        let mut targets: Vec<Option<Target>> =
            headers.iter().map(|h| Target::of_header(h)).collect();
        for given in overrides {
            let (column, name) = given.split_once('=').ok_or_else(|| {
                TransferError::Columns(format!(
                    "--map '{given}' is not COLUMN=field: write it as --map 联系方式=phone"
                ))
            })?;
            let index = headers
                .iter()
                .position(|h| h == column.trim())
                .or_else(|| (0..headers.len()).find(|&i| column_letter(i) == column.trim()))
                .ok_or_else(|| {
                    TransferError::Columns(format!(
                        "--map '{given}': the sheet has no column '{}'; its columns are {}",
                        column.trim(),
                        headers.join(", ")
                    ))
                })?;
            let target = Target::named(name).ok_or_else(|| {
                TransferError::Columns(format!(
                    "--map '{given}': '{}' is not a field; use one of {}",
                    name.trim(),
                    Target::all_names()
                ))
            })?;
            targets[index] = Some(target);
        }
        let mapping = Mapping {
            headers: headers.to_vec(),
            targets,
        };
        mapping.check()?;
        Ok(mapping)
    }

    fn check(&self) -> Result<(), TransferError> {
        for (index, target) in self.targets.iter().enumerate() {
            let Some(target) = target.filter(|t| *t != Target::Ignore) else {
                continue;
            };
            if let Some(other) =
                (index + 1..self.targets.len()).find(|&i| self.targets[i] == Some(target))
            {
                return Err(TransferError::Columns(format!(
                    "columns {} and {} both hold {}: map one of them elsewhere, e.g. --map '{}=ignore'",
                    self.describe(index),
                    self.describe(other),
                    target.name(),
                    self.headers[other]
                )));
            }
        }
        for field in [Field::Company, Field::Contact] {
            if !self.targets.contains(&Some(Target::Field(field))) {
                return Err(TransferError::Columns(format!(
                    "no column holds the {}: name its column with --map COLUMN={} (the columns are {})",
                    field.key(),
                    field.key(),
                    self.headers.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// "C (联系方式)".
    pub fn describe(&self, index: usize) -> String {
        match self.headers.get(index).filter(|h| !h.is_empty()) {
            Some(header) => format!("{} ({header})", column_letter(index)),
            None => column_letter(index),
        }
    }

    /// Each mapped column's index and target.
    pub fn columns(&self) -> impl Iterator<Item = (usize, Target)> + '_ {
        self.targets
            .iter()
            .enumerate()
            .filter_map(|(index, target)| {
                target.filter(|t| *t != Target::Ignore).map(|t| (index, t))
            })
    }

    /// The headers of columns nothing is imported from (not `--map`ped to `ignore`).
    pub fn unmapped(&self) -> Vec<&str> {
        self.headers
            .iter()
            .zip(&self.targets)
            .filter(|(header, target)| target.is_none() && !header.is_empty())
            .map(|(header, _)| header.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn chinese_and_english_headers_match_without_a_map() {
        let mapping = Mapping::new(
            &headers(&[
                "客户名称",
                "联系人",
                "联系方式",
                "来源渠道",
                "预估金额",
                "微信",
            ]),
            &[],
        )
        .unwrap();
        let targets: Vec<_> = mapping.columns().map(|(_, t)| t.name()).collect();
        assert_eq!(targets, ["company", "contact", "phone", "source", "amount"]);
        assert_eq!(mapping.unmapped(), ["微信"]);
        let english = Mapping::new(
            &headers(&["Company Name", "Contact", "E-mail", "Expected close"]),
            &[],
        )
        .unwrap();
        let targets: Vec<_> = english.columns().map(|(_, t)| t.name()).collect();
        assert_eq!(targets, ["company", "contact", "email", "expected_close"]);
    }

    #[test]
    fn maps_override_by_header_or_letter() {
        let mapping = Mapping::new(
            &headers(&["单位", "对接人", "微信"]),
            &["单位=company".to_owned(), "B=contact".to_owned()],
        )
        .unwrap();
        let targets: Vec<_> = mapping.columns().map(|(i, t)| (i, t.name())).collect();
        assert_eq!(targets, [(0, "company"), (1, "contact")]);
    }

    #[test]
    fn bad_maps_and_headers_are_refused_with_the_fix() {
        let refused = |names: &[&str], maps: &[&str]| {
            let maps: Vec<String> = maps.iter().map(|m| (*m).to_owned()).collect();
            Mapping::new(&headers(names), &maps)
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&["客户名称", "电话"], &[]).contains("--map COLUMN=contact"));
        assert!(refused(&["客户名称", "联系人", "电话", "手机"], &[]).contains("both hold phone"));
        assert!(refused(&["客户名称", "联系人"], &["微信=phone"]).contains("no column '微信'"));
        assert!(refused(&["客户名称", "联系人"], &["联系人=wechat"]).contains("not a field"));
        assert!(refused(&["客户名称", "联系人"], &["联系人"]).contains("COLUMN=field"));
    }

    #[test]
    fn letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(36), "AK");
    }
}
