//! What kind of data a table holds, from its column keys (and semantic types), with the keys
//! that decided it. Deterministic keyword scoring: an LLM may refine it, never replace it blind.

use crate::model::{Column, SemanticType};

/// Known data types and the key words (whole `_`-separated words of a key) that point to them.
/// Order matters only to break ties.
const KINDS: &[(&str, &[&str])] = &[
    (
        "ecommerce",
        &[
            "order",
            "orders",
            "product",
            "products",
            "sku",
            "cart",
            "checkout",
            "shipping",
            "discount",
            "coupon",
            "quantity",
            "qty",
            "price",
            "unit_price",
            "customer",
            "item",
            "items",
            "subtotal",
            "basket",
        ],
    ),
    (
        "crm",
        &[
            "lead",
            "leads",
            "contact",
            "contacts",
            "deal",
            "deals",
            "opportunity",
            "pipeline",
            "stage",
            "account",
            "company",
            "prospect",
            "owner",
            "first",
            "last",
            "email",
            "phone",
            "title",
        ],
    ),
    (
        "finance",
        &[
            "transaction",
            "transactions",
            "amount",
            "balance",
            "debit",
            "credit",
            "invoice",
            "payment",
            "tax",
            "ledger",
            "iban",
            "expense",
            "revenue",
            "currency",
            "fee",
            "interest",
            "budget",
            "cost",
            "profit",
        ],
    ),
    (
        "inventory",
        &[
            "stock",
            "warehouse",
            "reorder",
            "supplier",
            "bin",
            "on_hand",
            "onhand",
            "units",
            "inventory",
            "restock",
            "sku",
            "lot",
            "batch",
            "location",
        ],
    ),
    (
        "hr",
        &[
            "employee",
            "employees",
            "salary",
            "department",
            "hire",
            "hired",
            "manager",
            "position",
            "job",
            "payroll",
            "termination",
            "staff",
            "wage",
            "leave",
            "dept",
        ],
    ),
    (
        "marketing",
        &[
            "campaign",
            "campaigns",
            "clicks",
            "impressions",
            "ctr",
            "conversion",
            "conversions",
            "utm",
            "channel",
            "spend",
            "cpc",
            "cpm",
            "ad",
            "ads",
            "audience",
            "bounce",
            "sessions",
        ],
    ),
    (
        "logistics",
        &[
            "shipment",
            "shipments",
            "tracking",
            "carrier",
            "origin",
            "destination",
            "weight",
            "delivery",
            "delivered",
            "freight",
            "eta",
            "route",
            "pallet",
            "dispatch",
            "consignment",
        ],
    ),
    (
        "healthcare",
        &[
            "patient",
            "patients",
            "diagnosis",
            "icd",
            "medication",
            "doctor",
            "physician",
            "admission",
            "discharge",
            "blood",
            "prescription",
            "mrn",
            "visit",
            "clinic",
            "dosage",
            "allergy",
        ],
    ),
    (
        "education",
        &[
            "student",
            "students",
            "course",
            "courses",
            "grade",
            "grades",
            "teacher",
            "enrollment",
            "class",
            "school",
            "semester",
            "gpa",
            "exam",
            "score",
            "tuition",
            "credits",
        ],
    ),
    (
        "real_estate",
        &[
            "property",
            "listing",
            "bedrooms",
            "bathrooms",
            "sqft",
            "rent",
            "lease",
            "tenant",
            "landlord",
            "mortgage",
            "zoning",
        ],
    ),
    (
        "events",
        &[
            "event",
            "timestamp",
            "level",
            "severity",
            "message",
            "user_agent",
            "ip",
            "status_code",
            "latency",
            "duration_ms",
            "request",
            "trace",
        ],
    ),
];

/// Names every data type `classify` can answer (besides `data`).
pub fn known_data_types() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|(k, _)| *k)
}

fn matches(key: &str, word: &str) -> bool {
    key == word || key.split('_').any(|w| w == word) || (word.contains('_') && key.contains(word))
}

/// `(data_type, evidence keys)`; `data` with no evidence when nothing scores at least 2.
pub fn classify(columns: &[Column]) -> (String, Vec<String>) {
    let mut best: Option<(usize, &str, Vec<String>)> = None;
    for (kind, words) in KINDS {
        let mut evidence: Vec<String> = columns
            .iter()
            .filter(|c| words.iter().any(|w| matches(&c.key, w)))
            .map(|c| c.key.clone())
            .collect();
        // A currency column is finance evidence whatever its name.
        if *kind == "finance" {
            for c in columns
                .iter()
                .filter(|c| c.semantic_type == Some(SemanticType::Currency))
            {
                if !evidence.contains(&c.key) {
                    evidence.push(c.key.clone());
                }
            }
        }
        let score = evidence.len();
        if score >= 2 && best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, kind, evidence));
        }
    }
    match best {
        Some((_, kind, evidence)) => (kind.to_string(), evidence),
        None => ("data".to_string(), Vec::new()),
    }
}
