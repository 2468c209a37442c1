//! The pages' shared head and navigation. One source of truth,
//! `frontend/partials/`, is put into each page where it says
//! `<!--#include head-->` and `<!--#include nav-->`, when the page is served.
//!
//! On the server rather than by a script: the page arrives whole, so the
//! navigation never pops in and shifts the layout, and the CSP's ban on
//! inline scripts is no concern. The markers are HTML comments, so each page
//! file stays valid HTML on its own.

/// Where a page wants the shared `<head>` lines (charset, viewport, icon, style sheet).
pub const HEAD_MARKER: &str = "<!--#include head-->";
/// Where a page wants the shared header with the main navigation.
pub const NAV_MARKER: &str = "<!--#include nav-->";

/// The partials a page is assembled from.
pub struct Partials<'a> {
    pub head: &'a str,
    pub nav: &'a str,
}

/// Whether `page` asks for any partial.
pub fn wants_partials(page: &str) -> bool {
    page.contains(HEAD_MARKER) || page.contains(NAV_MARKER)
}

/// `page` with the partials in place of their markers; in the navigation,
/// the link to `path` (the page being served) is marked as the current page.
pub fn assemble(page: &str, path: &str, partials: &Partials) -> String {
    page.replace(HEAD_MARKER, partials.head.trim_end())
        .replace(NAV_MARKER, &mark_current(partials.nav.trim_end(), path))
}

/// Adds `aria-current="page"` to the `<nav>` link whose `href` is `path`.
fn mark_current(nav: &str, path: &str) -> String {
    let link = format!("href=\"{path}\"");
    let Some(nav_start) = nav.find("<nav") else {
        return nav.to_owned();
    };
    match nav[nav_start..].find(&link) {
        Some(at) => {
            let end = nav_start + at + link.len();
            format!("{} aria-current=\"page\"{}", &nav[..end], &nav[end..])
        }
        None => nav.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAV: &str = "<header><a class=\"brand\" href=\"/\">home</a>\n<nav aria-label=\"Main\">\n\
                       <a href=\"/lessons/\">Lessons</a>\n<a href=\"/lab.html\">Lab</a>\n</nav></header>\n";
    const PARTIALS: Partials = Partials {
        head: "<meta charset=\"utf-8\">\n",
        nav: NAV,
    };

    #[test]
    fn the_markers_become_the_partials() {
        let page = "<head>\n  <!--#include head-->\n  <title>Lab</title>\n</head>\n<body>\n  <!--#include nav-->\n</body>";
        let html = assemble(page, "/lab.html", &PARTIALS);
        assert!(!wants_partials(&html), "{html}");
        assert!(
            html.contains("<head>\n  <meta charset=\"utf-8\">\n  <title>Lab</title>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"/lab.html\" aria-current=\"page\">Lab</a>"),
            "{html}"
        );
        assert_eq!(html.matches("aria-current").count(), 1, "{html}");
    }

    #[test]
    fn only_a_nav_link_is_marked_current() {
        // The brand also links to "/", but it is not the navigation.
        let html = assemble(NAV_MARKER, "/", &PARTIALS);
        assert!(!html.contains("aria-current"), "{html}");
        let lesson = assemble(NAV_MARKER, "/lessons/polling", &PARTIALS);
        assert!(!lesson.contains("aria-current"), "{lesson}");
        let index = assemble(NAV_MARKER, "/lessons/", &PARTIALS);
        assert!(
            index.contains("href=\"/lessons/\" aria-current=\"page\""),
            "{index}"
        );
    }

    #[test]
    fn a_page_without_markers_is_left_alone() {
        let page = "<!doctype html><title>x</title>";
        assert!(!wants_partials(page));
        assert_eq!(assemble(page, "/x.html", &PARTIALS), page);
    }
}
