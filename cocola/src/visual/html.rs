//! One self-contained HTML page: inline CSS, inline SVG charts and a few
//! lines of inline JavaScript that sort tables by a click on a column
//! header. Nothing is fetched, so the page reads the same offline, attached
//! to an e-mail or years later.
//!
//! Every piece of text (file names, ids, errors) is escaped.

use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A table cell: its text, and the number it sorts by (cells without one
/// sort by text; empty cells sort last).
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub text: String,
    pub sort: Option<f64>,
    /// A CSS class (e.g. a verdict's colour).
    pub class: Option<&'static str>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            sort: None,
            class: None,
        }
    }

    /// A number shown with `decimals` digits, sorted by its value; `None` is an empty cell.
    pub fn number(value: Option<f64>, decimals: usize) -> Self {
        Self {
            text: value.map_or(String::new(), |v| format!("{v:.decimals$}")),
            sort: value,
            class: None,
        }
    }

    pub fn with_class(mut self, class: &'static str) -> Self {
        self.class = Some(class);
        self
    }
}

/// A table; sortable tables sort by a click on a header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub sortable: bool,
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:2rem auto;max-width:1040px;\
padding:0 1rem;color:#1d1d1f;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
.sub{color:#666;margin-top:0}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}\
dl.facts dt{color:#666}dl.facts dd{margin:0;word-break:break-all}\
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e3e3;\
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td:first-child{white-space:nowrap}\
th{background:#f4f4f6;position:sticky;top:0}table.sortable th{cursor:pointer;user-select:none}\
table.sortable th:hover{background:#e8e8ee}th.asc::after{content:' \\25B2';font-size:.7em}\
th.desc::after{content:' \\25BC';font-size:.7em}.fits{color:#08734f;font-weight:600}\
.unsure{color:#8a5a00;font-weight:600}.clashes{color:#b3261e;font-weight:600}.muted{color:#777}\
figure{margin:1rem 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#555;font-size:.9rem}ul.notes li{margin:.2rem 0}.scroll{overflow-x:auto}\
footer{margin-top:3rem;color:#888;font-size:.85rem}";

/// Sorts a table by the clicked column: numbers by `data-sort`, else text;
/// empty cells last; a second click reverses.
const SCRIPT: &str = "\
document.querySelectorAll('table.sortable').forEach(function(t){\
var hs=t.tHead.rows[0].cells;for(var i=0;i<hs.length;i++){(function(c,h){h.addEventListener('click',function(){\
var asc=!h.classList.contains('asc');for(var j=0;j<hs.length;j++){hs[j].classList.remove('asc','desc');}\
h.classList.add(asc?'asc':'desc');var b=t.tBodies[0];var rows=Array.prototype.slice.call(b.rows);\
function key(r){var d=r.cells[c];var s=d.getAttribute('data-sort');if(s!==null&&s!==''){return [0,parseFloat(s)];}\
var x=d.textContent.trim();return x===''?[2,'']:[1,x.toLowerCase()];}\
rows.sort(function(a,b2){var x=key(a),y=key(b2);if(x[0]!==y[0]){return x[0]-y[0];}\
var r=x[1]<y[1]?-1:x[1]>y[1]?1:0;return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});});})(i,hs[i]);}});";

/// A page under construction.
pub struct Page {
    title: String,
    body: String,
}

impl Page {
    pub fn new(title: &str, subtitle: &str) -> Self {
        let mut body = String::new();
        let _ = writeln!(body, "<h1>{}</h1>", escape(title));
        let _ = writeln!(body, "<p class=\"sub\">{}</p>", escape(subtitle));
        Self {
            title: title.to_string(),
            body,
        }
    }

    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
    }

    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", escape(text));
    }

    /// Label-value pairs, as a definition list.
    pub fn facts(&mut self, facts: &[(&str, String)]) {
        self.body.push_str("<dl class=\"facts\">\n");
        for (label, value) in facts {
            let _ = writeln!(self.body, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
        }
        self.body.push_str("</dl>\n");
    }

    pub fn notes(&mut self, notes: &[String]) {
        if notes.is_empty() {
            return;
        }
        self.body.push_str("<ul class=\"notes\">\n");
        for note in notes {
            let _ = writeln!(self.body, "<li>{}</li>", escape(note));
        }
        self.body.push_str("</ul>\n");
    }

    /// An SVG chart (as [`super::chart::to_svg`] writes it) with a caption.
    pub fn chart(&mut self, svg: &str, caption: &str) {
        // The SVG document is our own output: only its XML declaration, if
        // any, must go for inline use.
        let start = svg.find("<svg").unwrap_or(0);
        let _ = writeln!(
            self.body,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            &svg[start..],
            escape(caption)
        );
    }

    pub fn table(&mut self, table: &Table) {
        let class = if table.sortable { " class=\"sortable\"" } else { "" };
        let numeric: Vec<bool> = (0..table.headers.len())
            .map(|c| {
                table
                    .rows
                    .iter()
                    .any(|r| r.get(c).is_some_and(|cell| cell.sort.is_some()))
            })
            .collect();
        let _ = write!(self.body, "<div class=\"scroll\"><table{class}><thead><tr>");
        for (header, &n) in table.headers.iter().zip(&numeric) {
            let _ = write!(
                self.body,
                "<th{}>{}</th>",
                if n { " class=\"n\"" } else { "" },
                escape(header)
            );
        }
        self.body.push_str("</tr></thead><tbody>\n");
        for row in &table.rows {
            self.body.push_str("<tr>");
            for (c, cell) in row.iter().enumerate() {
                let mut classes = Vec::new();
                if numeric.get(c).copied().unwrap_or(false) {
                    classes.push("n");
                }
                classes.extend(cell.class);
                let class = if classes.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"{}\"", classes.join(" "))
                };
                let sort = cell.sort.map_or(String::new(), |v| format!(" data-sort=\"{v}\""));
                let _ = write!(self.body, "<td{class}{sort}>{}</td>", escape(&cell.text));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody></table></div>\n");
    }

    /// The finished document.
    pub fn finish(self, footer: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>{STYLE}</style></head>\n<body>\n{}<footer>{}</footer>\n\
             <script>{SCRIPT}</script>\n</body></html>\n",
            escape(&self.title),
            self.body,
            escape(footer)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        let mut page = Page::new("<script>alert(1)</script>", "a & b");
        page.facts(&[("file", "x\"><img src=y>.wav".into())]);
        page.table(&Table {
            headers: vec!["<id>".into(), "score".into()],
            rows: vec![vec![Cell::text("</td>"), Cell::number(Some(1.5), 2)]],
            sortable: true,
        });
        let html = page.finish("made by 'cocola'");
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;id&gt;") && html.contains("a &amp; b") && html.contains("&#39;cocola&#39;"));
        assert!(html.contains("data-sort=\"1.5\"") && html.contains("class=\"sortable\""));
        // Self-contained: nothing is loaded from elsewhere.
        for external in ["http://", "https://", "src=\"", "<link", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
