//! Link extraction from the fetched HTML: `href` attributes of `<a>` tags, resolved against the
//! page's authority (absolute `http://` and root-relative links; everything else is dropped).

/// The absolute http URLs of every `<a href="...">` in `html`, in order, on `domains` only.
pub fn extract(html: &str, base_authority: &str, domains: &[String]) -> Vec<String> {
    let mut links = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(tag) = lower[at..].find("<a ") {
        let start = at + tag;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag_text = &html[start..end];
        if let Some(href) = attribute(tag_text, "href") {
            if let Some(url) = resolve(base_authority, href) {
                let on_site =
                    crate::layout::authority(&url).is_some_and(|a| domains.iter().any(|d| d == a));
                if on_site {
                    links.push(url);
                }
            }
        }
        at = end;
    }
    links
}

/// The value of a double- or single-quoted attribute in a tag's text.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let quote = tag[at..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = &tag[at + 1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// `href` as an absolute http URL (fragment dropped), or `None` if a crawler does not follow it.
pub fn resolve(base_authority: &str, href: &str) -> Option<String> {
    let href = href.split('#').next().unwrap_or_default().trim();
    if href.starts_with("http://") {
        Some(href.to_string())
    } else if href.starts_with('/') && !href.starts_with("//") {
        Some(format!("http://{base_authority}{href}"))
    } else {
        None // empty (a fragment), relative paths, other schemes: the demo's pages have none
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn extracts_absolute_and_root_relative_links_on_the_site() {
        let html = r##"<a href="/p/1.html">x</a> <A class="l" HREF='http://h:2/p/2.html#f'>
            <a href="http://www.example.org/x"> <a href="#top"> <a href="mailto:a@b">"##;
        let domains = vec!["h:1".to_string(), "h:2".to_string()];
        assert_eq!(
            super::extract(html, "h:1", &domains),
            vec!["http://h:1/p/1.html".to_string(), "http://h:2/p/2.html".to_string()]
        );
    }
}
