//! Markdown → safe HTML: pulldown-cmark with tables, footnotes, task lists
//! and GFM alerts, code highlighted server-side by syntect (CSS classes, so
//! light and dark themes both work), heading anchors, and the result passed
//! through ammonia so nothing a lesson says can become a script.

use std::sync::OnceLock;

use pulldown_cmark::{
    CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html,
};
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

pub(super) const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_GFM
}

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Turns heading text into an anchor: `Why it matters` → `why-it-matters`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

fn highlight(code: &str, lang: &str) -> String {
    let set = syntaxes();
    let token = match lang {
        "js" | "javascript" | "mjs" => "js",
        "sh" | "bash" | "shell" | "console" => "sh",
        "py" | "python" => "py",
        "rs" | "rust" => "rs",
        other => other,
    };
    let syntax = set
        .find_syntax_by_token(token)
        .unwrap_or_else(|| set.find_syntax_plain_text());
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        if generator
            .parse_html_for_line_which_includes_newline(line)
            .is_err()
        {
            // Unhighlightable input falls back to escaped plain text.
            return format!("<pre class=\"code\"><code>{}</code></pre>", escape(code));
        }
    }
    format!(
        "<pre class=\"code\" data-lang=\"{}\"><code>{}</code></pre>",
        escape(lang),
        generator.finalize()
    )
}

fn escape(text: &str) -> String {
    ammonia::clean_text(text)
}

/// Renders a piece of lesson markdown to sanitized HTML.
pub fn to_html(markdown: &str) -> String {
    let mut events = Vec::new();
    let mut code: Option<(String, String)> = None;
    let mut heading: Option<(HeadingLevel, Vec<Event>)> = None;
    for event in Parser::new_ext(markdown, options()) {
        match (&mut code, &mut heading, event) {
            (None, _, Event::Start(Tag::CodeBlock(kind))) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new()));
            }
            (Some((_, body)), _, Event::Text(text)) => body.push_str(&text),
            (Some(_), _, Event::End(TagEnd::CodeBlock)) => {
                if let Some((lang, body)) = code.take() {
                    events.push(Event::Html(CowStr::from(highlight(&body, &lang))));
                }
            }
            (None, None, Event::Start(Tag::Heading { level, .. })) => {
                heading = Some((level, Vec::new()))
            }
            (None, Some((_, inner)), Event::End(TagEnd::Heading(_))) => {
                let inner = std::mem::take(inner);
                let level = heading.take().map_or(HeadingLevel::H3, |(l, _)| l);
                let text: String = inner
                    .iter()
                    .filter_map(|e| match e {
                        Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                        _ => None,
                    })
                    .collect();
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(slugify(&text))),
                    classes: vec![],
                    attrs: vec![],
                }));
                events.extend(inner);
                events.push(Event::End(TagEnd::Heading(level)));
            }
            // A task-list box cannot be ticked here: decoration, hidden from
            // assistive technology rather than announced as an unlabelled control.
            (None, None, Event::TaskListMarker(done)) => {
                events.push(Event::InlineHtml(CowStr::from(if done {
                    "<input type=\"checkbox\" disabled checked aria-hidden=\"true\"> "
                } else {
                    "<input type=\"checkbox\" disabled aria-hidden=\"true\"> "
                })))
            }
            (None, Some((_, inner)), other) => inner.push(other),
            (_, _, other) => events.push(other),
        }
    }
    let mut raw = String::new();
    html::push_html(&mut raw, events.into_iter());
    sanitizer().clean(&raw).to_string()
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_generic_attributes(["class", "id"])
            .add_tag_attributes("div", ["data-widget"])
            .add_tag_attributes("pre", ["data-lang"])
            .add_tag_attributes("input", ["type", "checked", "disabled", "aria-hidden"])
            .add_tags(["input"]);
        b
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tables_alerts_code_and_anchors() {
        let html = to_html(
            "### Why it matters\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> [!TIP]\n> Try it.\n\n```js\nconst x = 1;\n```\n",
        );
        assert!(html.contains("<h3 id=\"why-it-matters\">"), "{html}");
        assert!(html.contains("<table>"));
        assert!(html.contains("markdown-alert-tip"), "{html}");
        assert!(html.contains("hl-"), "highlighted: {html}");
    }

    #[test]
    fn scripts_never_survive() {
        let html = to_html(
            "Hi <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n<div data-widget=\"sse\" onclick=\"x()\"></div>",
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.contains("onclick"));
        assert!(html.contains("data-widget=\"sse\""));
    }

    #[test]
    fn task_list_boxes_are_decoration() {
        let html = to_html("- [ ] open\n- [x] done\n");
        assert_eq!(html.matches("aria-hidden=\"true\"").count(), 2, "{html}");
        assert!(html.contains("checked"), "{html}");
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Why it matters!"), "why-it-matters");
        assert_eq!(slugify("`retry:` & `id:`"), "retry-id");
    }
}
