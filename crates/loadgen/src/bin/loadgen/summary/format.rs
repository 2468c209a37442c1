//! How the bench record writes numbers: thousands separated, `–` for what
//! was not measured.

/// `66000.4` → `66,000`.
pub fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `v` to `digits` decimals, or `–`.
pub fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

/// `v` with thousands separated, or `–`.
pub fn opt_thousands(v: Option<f64>) -> String {
    v.map_or("–".into(), thousands)
}
