//! The page's files, embedded in the binary (no CDN, works offline): the HTML (with
//! `{{TOKEN}}` replaced when served), the script (hand-written SVG charts) and the style.

/// The page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// The page's script: polls `/api/state` every second and draws everything.
pub const DASHBOARD_JS: &str = include_str!("assets/dashboard.js");
/// The page's style.
pub const DASHBOARD_CSS: &str = include_str!("assets/dashboard.css");
