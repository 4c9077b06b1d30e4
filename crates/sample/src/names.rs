//! Word banks for sample leads: companies, contacts, phones and emails, Chinese and English.

use rand::Rng;
use rand::seq::IndexedRandom;

const CITIES: [&str; 10] = [
    "深圳", "上海", "北京", "杭州", "成都", "广州", "苏州", "武汉", "南京", "西安",
];
const CORES: [&str; 16] = [
    "腾飞", "华信", "远航", "金桥", "启明", "恒通", "博远", "鼎盛", "天成", "众合", "新锐", "嘉禾",
    "瑞丰", "宏图", "卓越", "云帆",
];
const SUFFIXES: [&str; 6] = [
    "科技有限公司",
    "贸易有限公司",
    "集团",
    "制造有限公司",
    "信息技术有限公司",
    "物流有限公司",
];
const EN_FIRST: [&str; 10] = [
    "Northwind",
    "Bluepeak",
    "Harbor",
    "Summit",
    "Redwood",
    "Silverline",
    "Crescent",
    "Ironbridge",
    "Lakeside",
    "Brightpath",
];
const EN_LAST: [&str; 6] = [
    "Trading",
    "Industries",
    "Systems",
    "Logistics",
    "Foods",
    "Medical",
];
const EN_FORM: [&str; 4] = ["Co.", "Ltd.", "Group", "Inc."];
const SURNAMES: [(&str, &str); 12] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
];
const GIVEN: [(&str, &str); 12] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
];
const TITLES: [&str; 8] = [
    "purchasing director 采购总监",
    "CTO 技术总监",
    "CEO 总经理",
    "IT manager IT经理",
    "operations manager 运营经理",
    "finance director 财务总监",
    "project lead 项目负责人",
    "procurement specialist 采购专员",
];
const INDUSTRIES: [&str; 8] = [
    "internet",
    "manufacturing",
    "retail",
    "finance",
    "healthcare",
    "education",
    "logistics",
    "energy",
];
const SIZES: [&str; 5] = ["1-50", "50-100", "100-500", "500-1000", "1000+"];
const BUDGETS: [&str; 4] = ["<5", "5-10", "10-20", "20+"];
const COMPETITORS: [&str; 5] = ["用友", "金蝶", "SAP", "Salesforce", "纷享销客"];

fn pick<'a, R: Rng>(rng: &mut R, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// A company name: mostly Chinese (`深圳腾飞科技有限公司`), sometimes English.
pub fn company<R: Rng>(rng: &mut R) -> String {
    if rng.random_bool(0.7) {
        format!(
            "{}{}{}",
            pick(rng, &CITIES),
            pick(rng, &CORES),
            pick(rng, &SUFFIXES)
        )
    } else {
        format!(
            "{} {} {}",
            pick(rng, &EN_FIRST),
            pick(rng, &EN_LAST),
            pick(rng, &EN_FORM)
        )
    }
}

/// A contact: Chinese name and the pinyin used for the email address.
pub fn contact<R: Rng>(rng: &mut R) -> (String, String) {
    let (surname, surname_py) = *SURNAMES.choose(rng).unwrap_or(&SURNAMES[0]);
    let (given, given_py) = *GIVEN.choose(rng).unwrap_or(&GIVEN[0]);
    (
        format!("{surname}{given}"),
        format!("{given_py}.{surname_py}"),
    )
}

/// A mainland mobile number, `+86 13x xxxx xxxx`.
pub fn phone<R: Rng>(rng: &mut R) -> String {
    format!(
        "+86 13{} {:04} {:04}",
        rng.random_range(0..10),
        rng.random_range(0..10_000),
        rng.random_range(0..10_000)
    )
}

/// An email address for a contact's pinyin.
pub fn email<R: Rng>(rng: &mut R, pinyin: &str) -> String {
    format!("{pinyin}{}@example.com", rng.random_range(1..100))
}

/// A contact's title.
pub fn title<R: Rng>(rng: &mut R) -> String {
    pick(rng, &TITLES).to_owned()
}

/// An industry.
pub fn industry<R: Rng>(rng: &mut R) -> String {
    pick(rng, &INDUSTRIES).to_owned()
}

/// A staff band; returns it and its index (larger companies get higher priority).
pub fn size<R: Rng>(rng: &mut R) -> (String, usize) {
    let index = rng.random_range(0..SIZES.len());
    (SIZES[index].to_owned(), index)
}

/// A budget band, larger for larger companies (`size_index` as [`size`] returns it).
pub fn budget<R: Rng>(rng: &mut R, size_index: usize) -> String {
    let band =
        (size_index * BUDGETS.len() / SIZES.len() + rng.random_range(0..2)).min(BUDGETS.len() - 1);
    BUDGETS[band].to_owned()
}

/// The competitors a customer talks to: none for about half of them, else one or two.
pub fn competitors<R: Rng>(rng: &mut R) -> String {
    match rng.random_range(0..4) {
        0 | 1 => String::new(),
        2 => pick(rng, &COMPETITORS).to_owned(),
        _ => {
            let first = rng.random_range(0..COMPETITORS.len());
            let second = (first + rng.random_range(1..COMPETITORS.len())) % COMPETITORS.len();
            format!("{}, {}", COMPETITORS[first], COMPETITORS[second])
        }
    }
}
