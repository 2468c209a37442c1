//! The stylesheet for highlighted lesson code (`/highlight.css`): syntect's
//! light and dark themes, each scoped to the page theme it belongs to, with
//! every token colour pushed to at least 4.5:1 against its background
//! (WCAG 2.2 AA, 1.4.3).
//!
//! Why scoped both ways: the two themes style different scope combinations,
//! so laid one over the other the light theme's compound selectors showed
//! through in dark mode (dark blue on the dark background). Why adjusted:
//! neither stock theme meets AA on its own (pale greys, mid blues and reds).

use syntect::highlighting::ThemeSet;
use syntect::html::css_for_theme_with_class_style;

use super::render::CLASS_STYLE;

/// One page theme's code colours.
struct CodeTheme {
    syntect_name: &'static str,
    /// The code block's background; every token colour is checked against it.
    background: Rgb,
    /// Where the page is in this theme: with it chosen, or following the system.
    chosen: &'static str,
    followed: (&'static str, &'static str),
}

const LIGHT: CodeTheme = CodeTheme {
    syntect_name: "InspiredGitHub",
    // The page's own light code background (`--code-bg` in style.css).
    background: Rgb(0xf1, 0xf2, 0xf4),
    chosen: ":root[data-theme=\"light\"]",
    followed: (
        "@media not all and (prefers-color-scheme: dark)",
        ":root:not([data-theme=\"dark\"])",
    ),
};

const DARK: CodeTheme = CodeTheme {
    syntect_name: "base16-ocean.dark",
    background: Rgb(0x2b, 0x30, 0x3b),
    chosen: ":root[data-theme=\"dark\"]",
    followed: (
        "@media (prefers-color-scheme: dark)",
        ":root:not([data-theme=\"light\"])",
    ),
};

/// WCAG AA for normal text is 4.5:1; a little above it survives rounding.
const MIN_CONTRAST: f64 = 4.6;

/// The whole stylesheet: light and dark, each for a chosen and a followed theme.
pub fn stylesheet() -> String {
    let themes = ThemeSet::load_defaults();
    let mut out = String::new();
    for theme in [LIGHT, DARK] {
        let Some(css) = themes
            .themes
            .get(theme.syntect_name)
            .and_then(|t| css_for_theme_with_class_style(t, CLASS_STYLE).ok())
        else {
            continue;
        };
        let rules = readable(&css, theme.background);
        let (media, followed) = theme.followed;
        out.push_str(&format!(
            "{media} {{\n{}}}\n",
            scoped(&rules, followed, theme.background)
        ));
        out.push_str(&scoped(&rules, theme.chosen, theme.background));
    }
    out
}

/// One CSS rule: its selectors and declarations, as syntect writes them.
struct Rule {
    selectors: Vec<String>,
    declarations: Vec<(String, String)>,
}

/// Parses syntect's CSS and lifts every colour to `MIN_CONTRAST` against its
/// own background, or the code block's.
fn readable(css: &str, code_background: Rgb) -> Vec<Rule> {
    let css = strip_comments(css);
    css.split('}')
        .filter_map(|block| {
            let (selectors, body) = block.split_once('{')?;
            let mut declarations: Vec<(String, String)> = body
                .split(';')
                .filter_map(|d| d.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .collect();
            let background = declarations
                .iter()
                .find(|(k, _)| k == "background-color")
                .and_then(|(_, v)| Rgba::parse(v))
                .map_or(code_background, |c| c.over(code_background));
            for (name, value) in &mut declarations {
                if name == "color"
                    && let Some(color) = Rgba::parse(value)
                {
                    *value = color.over(background).readable_on(background).hex();
                }
            }
            Some(Rule {
                selectors: selectors
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                declarations,
            })
        })
        .filter(|r| !r.selectors.is_empty())
        .collect()
}

/// The rules with every selector under `scope`, and the code block's background.
fn scoped(rules: &[Rule], scope: &str, background: Rgb) -> String {
    let mut out = format!("{scope} pre.code {{ background: {}; }}\n", background.hex());
    for rule in rules {
        let selectors: Vec<String> = rule
            .selectors
            .iter()
            .map(|s| format!("{scope} {s}"))
            .collect();
        let body: String = rule
            .declarations
            .iter()
            .map(|(k, v)| format!(" {k}: {v};"))
            .collect();
        out.push_str(&format!("{} {{{body} }}\n", selectors.join(", ")));
    }
    out
}

fn strip_comments(css: &str) -> String {
    let mut out = String::new();
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// An opaque sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(u8, u8, u8);

/// A colour as syntect writes it: `#rrggbb` or `#rrggbbaa`.
#[derive(Debug, Clone, Copy)]
struct Rgba(Rgb, u8);

impl Rgba {
    fn parse(text: &str) -> Option<Rgba> {
        let hex = text.strip_prefix('#')?;
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        match hex.len() {
            6 => Some(Rgba(Rgb(byte(0)?, byte(2)?, byte(4)?), 0xff)),
            8 => Some(Rgba(Rgb(byte(0)?, byte(2)?, byte(4)?), byte(6)?)),
            _ => None,
        }
    }

    /// The colour seen over `background`.
    fn over(self, background: Rgb) -> Rgb {
        let Rgba(Rgb(r, g, b), a) = self;
        let alpha = f64::from(a) / 255.0;
        let mix = |c: u8, under: u8| {
            (f64::from(c) * alpha + f64::from(under) * (1.0 - alpha)).round() as u8
        };
        Rgb(
            mix(r, background.0),
            mix(g, background.1),
            mix(b, background.2),
        )
    }
}

impl Rgb {
    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// WCAG contrast ratio, 1 to 21.
    fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// This colour, moved towards black or white (whichever is farther from
    /// `background`) just far enough to reach `MIN_CONTRAST`; hue kept.
    fn readable_on(self, background: Rgb) -> Rgb {
        let target = if background.luminance() > 0.18 {
            Rgb(0, 0, 0)
        } else {
            Rgb(0xff, 0xff, 0xff)
        };
        (0..=100)
            .map(|step| self.towards(target, f64::from(step) / 100.0))
            .find(|c| c.contrast(background) >= MIN_CONTRAST)
            .unwrap_or(target)
    }

    fn towards(self, target: Rgb, amount: f64) -> Rgb {
        let mix =
            |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * amount).round() as u8;
        Rgb(
            mix(self.0, target.0),
            mix(self.1, target.1),
            mix(self.2, target.2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colours(css: &str) -> Vec<(String, Rgb)> {
        css.lines()
            .filter(|l| l.contains(" color: #"))
            .filter_map(|l| {
                let at = l.find(" color: #")?;
                let hex = &l[at + 8..at + 15];
                Some((l.to_owned(), Rgba::parse(hex)?.0))
            })
            .collect()
    }

    #[test]
    fn contrast_matches_wcag() {
        let white = Rgb(0xff, 0xff, 0xff);
        assert!((Rgb(0, 0, 0).contrast(white) - 21.0).abs() < 1e-9);
        assert!((Rgb(0x76, 0x76, 0x76).contrast(white) - 4.54).abs() < 0.01);
    }

    #[test]
    fn every_token_colour_is_readable_on_its_theme() {
        let css = stylesheet();
        let mut checked = 0;
        for block in css.lines().filter(|l| l.contains('{')) {
            let dark = block.contains(DARK.chosen) || block.contains(DARK.followed.1);
            let background = if dark {
                DARK.background
            } else {
                LIGHT.background
            };
            for (line, colour) in colours(block) {
                if line.contains("background-color") {
                    continue; // Checked against its own background when generated.
                }
                checked += 1;
                assert!(
                    colour.contrast(background) >= 4.5,
                    "{} on {}: {line}",
                    colour.hex(),
                    background.hex()
                );
            }
        }
        assert!(checked > 100, "only {checked} colours checked");
    }

    #[test]
    fn each_theme_applies_only_in_its_page_theme() {
        let css = stylesheet();
        let mut selectors = 0;
        for line in css
            .lines()
            .filter(|l| l.contains('{') && !l.starts_with('@'))
        {
            for selector in line[..line.find('{').unwrap_or(0)].split(',') {
                selectors += 1;
                // Scoped once, at the start (`.a.b` must not become `.a:root .b`).
                assert!(selector.trim().starts_with(":root"), "unscoped: {selector}");
                assert_eq!(
                    selector.matches(":root").count(),
                    1,
                    "scoped twice: {selector}"
                );
            }
        }
        assert!(selectors > 100);
        assert_eq!(
            css.matches("@media").count(),
            2,
            "one followed-theme block each"
        );
    }

    #[test]
    fn readable_keeps_colours_that_already_pass_and_lifts_the_rest() {
        let bg = LIGHT.background;
        let ok = Rgb(0x1c, 0x1f, 0x24);
        assert_eq!(ok.readable_on(bg), ok);
        let pale = Rgb(0x96, 0x98, 0x96);
        let lifted = pale.readable_on(bg);
        assert!(lifted.contrast(bg) >= MIN_CONTRAST);
        assert!(
            lifted.luminance() < pale.luminance(),
            "darkened on a light background"
        );
        let dark_bg = DARK.background;
        let dim = Rgb(0xbf, 0x61, 0x6a);
        assert!(
            dim.readable_on(dark_bg).luminance() > dim.luminance(),
            "lightened on a dark background"
        );
    }

    #[test]
    fn parses_rgba_and_blends_it() {
        let c = Rgba::parse("#00000080").map(|c| c.over(Rgb(0xff, 0xff, 0xff)));
        assert_eq!(c, Some(Rgb(0x7f, 0x7f, 0x7f)));
        assert!(Rgba::parse("#12345").is_none());
        assert!(Rgba::parse("red").is_none());
    }
}
