//! A corpus of structurally messy delimited files (issue 12): each case is the bytes a user
//! uploads, the tables a person would see in it (header keys and every row, value for value),
//! and the issues that must report each skipped or repaired line.
//!
//! Design decision: expected values are JSON texts (`"1"`, `"\"Ana\""`, `"null"`) so this crate
//! needs no JSON dependency and the unit and e2e tests compare them the same way.

/// One table a person would see in a file.
#[derive(Debug, Clone)]
pub struct ExpectedTable {
    /// Clean column keys, in order.
    pub keys: Vec<&'static str>,
    /// Every row, each value as JSON text, in the order of `keys`.
    pub rows: Vec<Vec<&'static str>>,
    /// `(issue code, line)` for every structural issue of this table, in order.
    pub issues: Vec<(&'static str, u64)>,
}

/// One messy file.
#[derive(Debug, Clone)]
pub struct StructureCase {
    pub name: &'static str,
    pub text: &'static str,
    pub tables: Vec<ExpectedTable>,
}

fn table(
    keys: &[&'static str],
    rows: &[&[&'static str]],
    issues: &[(&'static str, u64)],
) -> ExpectedTable {
    ExpectedTable {
        keys: keys.to_vec(),
        rows: rows.iter().map(|r| r.to_vec()).collect(),
        issues: issues.to_vec(),
    }
}

/// The issue codes that report structure (the ones [`StructureCase::tables`] list).
pub const STRUCTURE_ISSUES: [&str; 9] = [
    "blank_line",
    "preamble_skipped",
    "ragged_row",
    "unterminated_quote",
    "header_repaired",
    "header_merged",
    "header_repeated",
    "table_split",
    "quote_recovered",
];

/// Every structural mess of issue 12, at least once.
pub fn structure_corpus() -> Vec<StructureCase> {
    vec![
        StructureCase {
            name: "space_delimiter",
            text: "id name score\n1 Ana 3.5\n2 Bruno 4\n3 Chloé 5.25\n",
            tables: vec![table(
                &["id", "name", "score"],
                &[
                    &["1", "\"Ana\"", "3.5"],
                    &["2", "\"Bruno\"", "4"],
                    &["3", "\"Chloé\"", "5.25"],
                ],
                &[],
            )],
        },
        StructureCase {
            name: "comma_space_delimiter",
            text: "name, city, amount\nSmith,John, New York, 1200\nDoe,Jane, Boston, 300\nLee,Ann, Austin, 45.5\n",
            tables: vec![table(
                &["name", "city", "amount"],
                &[
                    &["\"Smith,John\"", "\"New York\"", "1200"],
                    &["\"Doe,Jane\"", "\"Boston\"", "300"],
                    &["\"Lee,Ann\"", "\"Austin\"", "45.5"],
                ],
                &[],
            )],
        },
        StructureCase {
            name: "single_quotes",
            text: "id,name,note\n1,'Smith, John',ok\n2,'Doe, Jane','said ''hi'''\n3,Lee,plain\n",
            tables: vec![table(
                &["id", "name", "note"],
                &[
                    &["1", "\"Smith, John\"", "\"ok\""],
                    &["2", "\"Doe, Jane\"", "\"said 'hi'\""],
                    &["3", "\"Lee\"", "\"plain\""],
                ],
                &[],
            )],
        },
        StructureCase {
            name: "backslash_escaped_quotes",
            text: "id,quote,n\n1,\"she said \\\"hi\\\", then left\",5\n2,\"plain\",6\n3,\"a \\\"b\\\"\",7\n",
            tables: vec![table(
                &["id", "quote", "n"],
                &[
                    &["1", "\"she said \\\"hi\\\", then left\"", "5"],
                    &["2", "\"plain\"", "6"],
                    &["3", "\"a \\\"b\\\"\"", "7"],
                ],
                &[],
            )],
        },
        StructureCase {
            name: "header_extra_separator",
            text: "id,name,,amount\n1,Ana,10.5\n2,Bruno,20\n3,Chloé,30\n",
            tables: vec![table(
                &["id", "name", "amount"],
                &[
                    &["1", "\"Ana\"", "10.5"],
                    &["2", "\"Bruno\"", "20"],
                    &["3", "\"Chloé\"", "30"],
                ],
                &[("header_repaired", 1)],
            )],
        },
        StructureCase {
            name: "header_missing_separator",
            text: "id,nameamount\n1,Ana,10.5\n2,Bruno,20\n3,Chloé,30\n",
            tables: vec![table(
                &["id", "nameamount", "column_3"],
                &[
                    &["1", "\"Ana\"", "10.5"],
                    &["2", "\"Bruno\"", "20"],
                    &["3", "\"Chloé\"", "30"],
                ],
                &[("header_repaired", 1)],
            )],
        },
        StructureCase {
            name: "stacked_header_two_lines",
            text: "Customer,Order,Unit\nName,Date,Price\nAna,2024-01-05,10.5\nBruno,2024-01-06,20\n",
            tables: vec![table(
                &["customer_name", "order_date", "unit_price"],
                &[
                    &["\"Ana\"", "\"2024-01-05\"", "10.5"],
                    &["\"Bruno\"", "\"2024-01-06\"", "20"],
                ],
                &[("header_merged", 2)],
            )],
        },
        StructureCase {
            name: "stacked_header_three_lines_spanning",
            text: "Region,Sales,\n,Total,\n,Q1,Q2\nNorth,10,20\nSouth,5,7\nEast,1,2\n",
            tables: vec![table(
                &["region", "sales_total_q1", "sales_total_q2"],
                &[
                    &["\"North\"", "10", "20"],
                    &["\"South\"", "5", "7"],
                    &["\"East\"", "1", "2"],
                ],
                &[("header_merged", 2), ("header_merged", 3)],
            )],
        },
        StructureCase {
            name: "repeated_header",
            text: "id,name\nid,name\n1,Ana\n2,Bruno\nid,name\n3,Chloé\n",
            tables: vec![table(
                &["id", "name"],
                &[&["1", "\"Ana\""], &["2", "\"Bruno\""], &["3", "\"Chloé\""]],
                &[("header_repeated", 2), ("header_repeated", 5)],
            )],
        },
        StructureCase {
            name: "two_tables_blank_line",
            text: "id,name,score\n1,Ana,3.5\n2,Bruno,4\n\nsku,qty\nA-1,5\nB-2,7\nC-3,9\n",
            tables: vec![
                table(
                    &["id", "name", "score"],
                    &[&["1", "\"Ana\"", "3.5"], &["2", "\"Bruno\"", "4"]],
                    &[("blank_line", 4)],
                ),
                table(
                    &["sku", "qty"],
                    &[&["\"A-1\"", "5"], &["\"B-2\"", "7"], &["\"C-3\"", "9"]],
                    &[("table_split", 5)],
                ),
            ],
        },
        StructureCase {
            name: "two_tables_new_header",
            text: "id,name,score\n1,Ana,3.5\n2,Bruno,4\nsku,qty,price,stock\nA-1,5,9.99,100\nB-2,7,1.5,3\nC-3,1,2,0\nD-4,2,3,1\n",
            tables: vec![
                table(
                    &["id", "name", "score"],
                    &[&["1", "\"Ana\"", "3.5"], &["2", "\"Bruno\"", "4"]],
                    &[],
                ),
                table(
                    &["sku", "qty", "price", "stock"],
                    &[
                        &["\"A-1\"", "5", "9.99", "100"],
                        &["\"B-2\"", "7", "1.5", "3"],
                        &["\"C-3\"", "1", "2", "0"],
                        &["\"D-4\"", "2", "3", "1"],
                    ],
                    &[("table_split", 4)],
                ),
            ],
        },
        StructureCase {
            name: "two_tables_same_width",
            text: "name,score\nAna,3.5\nBruno,4\n\ncity,country\nLisboa,Portugal\nKraków,Poland\n",
            tables: vec![
                table(
                    &["name", "score"],
                    &[&["\"Ana\"", "3.5"], &["\"Bruno\"", "4"]],
                    &[("blank_line", 4)],
                ),
                table(
                    &["city", "country"],
                    &[&["\"Lisboa\"", "\"Portugal\""], &["\"Kraków\"", "\"Poland\""]],
                    &[("table_split", 5)],
                ),
            ],
        },
        StructureCase {
            name: "stray_quote_closed_later",
            text: "id,name,comment\n1,Ana,\"fine\"\n2,\"Bruno,oops\n3,Chloé,ok\n4,Dmitri,\"also, fine\"\n",
            tables: vec![table(
                &["id", "name", "comment"],
                &[
                    &["1", "\"Ana\"", "\"fine\""],
                    &["2", "\"\\\"Bruno\"", "\"oops\""],
                    &["3", "\"Chloé\"", "\"ok\""],
                    &["4", "\"Dmitri\"", "\"also, fine\""],
                ],
                &[("quote_recovered", 3)],
            )],
        },
        StructureCase {
            name: "stray_quote_never_closed",
            text: "id,name,city\n1,Ana,Lisboa\n2,\"Bruno,Porto\n3,Chloé,Zürich\n4,Eva,Kraków\n",
            tables: vec![table(
                &["id", "name", "city"],
                &[
                    &["1", "\"Ana\"", "\"Lisboa\""],
                    &["2", "\"\\\"Bruno\"", "\"Porto\""],
                    &["3", "\"Chloé\"", "\"Zürich\""],
                    &["4", "\"Eva\"", "\"Kraków\""],
                ],
                &[("quote_recovered", 3)],
            )],
        },
        StructureCase {
            name: "title_then_space_delimited_with_ragged_row",
            text: "Quarterly report\nid name score\n1 Ana 3.5\n2 Bruno 4\n3 Chloé\n4 Eva 1\n",
            tables: vec![table(
                &["id", "name", "score"],
                &[
                    &["1", "\"Ana\"", "3.5"],
                    &["2", "\"Bruno\"", "4"],
                    &["3", "\"Chloé\"", "null"],
                    &["4", "\"Eva\"", "1"],
                ],
                &[("preamble_skipped", 1), ("ragged_row", 5)],
            )],
        },
    ]
}
