//! Swagger UI's page as served at `/docs`: poem-openapi's page, plus what it
//! needs to meet WCAG 2.2 AA like the rest of the UI. The page is third-party
//! markup, so the fixes sit beside it: a language on `<html>`, our colour
//! overrides (`/swagger.css`) and a script that names its unnamed buttons and
//! unnests its links (`/js/swagger-a11y.js`). Both files are same-origin, so
//! the page's CSP (hashes of its inline blocks, plus `'self'`) admits them.

/// Where the additions go: right after the title, before Swagger's own
/// inline blocks (whose script text contains `</head>` as a string).
const ANCHOR: &str = "<title>Swagger UI</title>";

const ADDITIONS: &str = "<title>Swagger UI</title>\n    \
     <link rel=\"stylesheet\" href=\"/swagger.css\">\n    \
     <script src=\"/js/swagger-a11y.js\" defer></script>";

/// The page with a language and the accessibility fixes linked in.
pub fn accessible(html: &str) -> String {
    html.replacen(
        "<html charset=\"UTF-8\">",
        "<html lang=\"en\" charset=\"UTF-8\">",
        1,
    )
    .replacen(ANCHOR, ADDITIONS, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poem_openapis_page_gets_a_language_and_the_fixes() {
        let page = "<!DOCTYPE html>\n<html charset=\"UTF-8\">\n<head>\n    <title>Swagger UI</title>\n<script>\"<head></head>\"</script></head>";
        let served = accessible(page);
        assert!(served.contains("<html lang=\"en\""), "{served}");
        let title = served.find("<title>").unwrap_or(usize::MAX);
        let css = served.find("href=\"/swagger.css\"").unwrap_or(0);
        let script = served
            .find("src=\"/js/swagger-a11y.js\" defer")
            .unwrap_or(0);
        assert!(title < css && css < script, "{served}");
        assert!(
            script < served.find("<script>").unwrap_or(0),
            "before Swagger's inline script"
        );
    }
}
