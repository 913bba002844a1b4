//! The WAI-ARIA 1.2 roles a `role:` locator may name (abstract roles excluded), and the names
//! people write instead of them.

/// Every concrete WAI-ARIA 1.2 role, sorted.
pub const ARIA_ROLES: &[&str] = &[
    "alert",
    "alertdialog",
    "application",
    "article",
    "banner",
    "blockquote",
    "button",
    "caption",
    "cell",
    "checkbox",
    "code",
    "columnheader",
    "combobox",
    "complementary",
    "contentinfo",
    "definition",
    "deletion",
    "dialog",
    "directory",
    "document",
    "emphasis",
    "feed",
    "figure",
    "form",
    "generic",
    "grid",
    "gridcell",
    "group",
    "heading",
    "img",
    "insertion",
    "link",
    "list",
    "listbox",
    "listitem",
    "log",
    "main",
    "marquee",
    "math",
    "menu",
    "menubar",
    "menuitem",
    "menuitemcheckbox",
    "menuitemradio",
    "meter",
    "navigation",
    "none",
    "note",
    "option",
    "paragraph",
    "presentation",
    "progressbar",
    "radio",
    "radiogroup",
    "region",
    "row",
    "rowgroup",
    "rowheader",
    "scrollbar",
    "search",
    "searchbox",
    "separator",
    "slider",
    "spinbutton",
    "status",
    "strong",
    "subscript",
    "superscript",
    "switch",
    "tab",
    "table",
    "tablist",
    "tabpanel",
    "term",
    "textbox",
    "time",
    "timer",
    "toolbar",
    "tooltip",
    "tree",
    "treegrid",
    "treeitem",
];

/// Whether `role` is a concrete WAI-ARIA 1.2 role.
pub fn is_aria_role(role: &str) -> bool {
    ARIA_ROLES.binary_search(&role).is_ok()
}

/// The role meant by a common non-role word (an HTML tag, a widget name), if any.
pub fn role_for_alias(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_lowercase().as_str() {
        "a" | "anchor" | "hyperlink" => "link",
        "input" | "text" | "textarea" | "textfield" | "field" | "text_field" | "text-field" => {
            "textbox"
        }
        "image" | "picture" | "icon" => "img",
        "select" | "dropdown" | "drop-down" | "combo" => "combobox",
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "title" | "header" => "heading",
        "btn" | "submit" => "button",
        "nav" => "navigation",
        "modal" | "popup" => "dialog",
        "p" => "paragraph",
        "ul" | "ol" => "list",
        "li" => "listitem",
        "tr" => "row",
        "td" => "cell",
        "th" => "columnheader",
        "toggle" => "switch",
        "footer" => "contentinfo",
        "aside" | "sidebar" => "complementary",
        "section" => "region",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_sorted_and_known() {
        let mut sorted = ARIA_ROLES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, ARIA_ROLES);
        assert!(is_aria_role("button"));
        assert!(is_aria_role("treeitem"));
        assert!(!is_aria_role("Button"));
        assert!(!is_aria_role("input"));
        assert_eq!(role_for_alias("Input"), Some("textbox"));
    }
}
