"""Web pages shaped like the real ones reports come from: a government advisory, a vendor blog and a news story."""

from __future__ import annotations

ADVISORY_PARAGRAPHS = (
    "This joint cybersecurity advisory was coauthored by the Cybersecurity and Infrastructure Security Agency, "
    "the Federal Bureau of Investigation and the Department of Health and Human Services.",
    "CISA, FBI, and HHS have credible information of an increased and imminent cybercrime threat to U.S. hospitals "
    "and healthcare providers.",
    "Malicious cyber actors are targeting the sector with TrickBot malware, often leading to ransomware attacks, "
    "data theft, and the disruption of healthcare services.",
    "TrickBot's modular design lets the actors install a backdoor called Anchor_DNS on high-value victims.",
    "anchor_dns uses a single-byte XOR cipher to encrypt its communications, which have been observed using key "
    "0xB9.",
    "To report an incident, contact CISA at (855) 292-3937 or central@cisa.gov.",
)
ADVISORY_ITEMS = (
    "Patch operating systems, software, and firmware as soon as manufacturers release updates.",
    "Regularly change passwords to network systems and accounts.",
)


def government_advisory() -> str:
    """An advisory whose <article> sits inside <aside role="complementary">, between a banner, a menu and a footer."""
    p = ADVISORY_PARAGRAPHS
    items = "".join(f"<li>{item}</li>" for item in ADVISORY_ITEMS)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Ransomware Activity Targeting the Healthcare and Public Health Sector | CISA</title>
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
<script type="application/ld+json">{{"@type": "Article", "headline": "structured data is not text"}}</script>
<style>.usa-banner {{ display: none; }}</style></head>
<body class="page-node">
<a class="usa-skipnav" href="#main-content">Skip to main content</a>
<section class="usa-banner" aria-label="Official government website">
  <div class="usa-banner__header"><p>An official website of the United States government</p>
  <button class="usa-banner__button">Here's how you know</button></div></section>
<header class="usa-header" role="banner"><div class="usa-logo"><a href="/">America's Cyber Defense Agency</a></div>
  <nav class="usa-nav" aria-label="Primary navigation"><ul>
  <li><a href="/topics">Topics</a></li><li><a href="/spotlight">Spotlight</a></li>
  <li><a href="/resources-tools">Resources &amp; Tools</a></li><li><a href="/news-events">News &amp; Events</a></li>
  </ul></nav></header>
<main id="main-content"><div class="l-full">
<div class="c-breadcrumb"><a href="/">Home</a> / <a href="/news-events">News &amp; Events</a> / Alerts</div>
<aside role="complementary" class="l-full__main">
  <article role="article" class="c-page">
    <h1 class="c-page-title">Ransomware Activity Targeting the Healthcare and Public Health Sector</h1>
    <div class="c-field">Alert Code: AA20-302A</div>
    <h2>Summary</h2>
    <p>{p[0]}</p>
    <p>{p[1]} {p[2]}</p>
    <h2>Technical Details</h2>
    <h3>TrickBot</h3>
    <p>{p[3]} <span>{p[4]}</span></p>
    <table class="usa-table"><thead><tr><th>Technique</th><th>ID</th></tr></thead>
    <tbody><tr><td>Scheduled Task</td><td>T1053.005</td></tr><tr><td>DNS tunnelling</td><td>T1071.004</td></tr>
    </tbody></table>
    <h2>Mitigations</h2>
    <ul>{items}</ul>
    <h2>Contact Information</h2>
    <p>{p[5]}</p>
  </article>
</aside>
<aside role="complementary" class="l-full__sidebar"><h2>Related Advisories</h2>
  <ul><li><a href="/aa20-280a">Emotet Malware</a></li><li><a href="/aa20-245a">Technical Approaches</a></li></ul>
</aside>
</div></main>
<footer class="usa-footer"><a href="#">Return to top</a>
  <nav><a href="/topics">Topics</a> <a href="/about">About CISA</a></nav>
  <p>CISA Central 888-282-0870 Central@cisa.gov</p></footer>
<script src="/analytics.js"></script>
</body></html>"""


BLOG_PARAGRAPHS = (
    "In March our researchers found a new loader that we track as NightHawk.",
    "The loader arrives as an ISO image attached to a phishing email about an unpaid invoice.",
    "Once mounted, a shortcut file runs rundll32.exe with the loader's export DllRegisterServer.",
    "NightHawk then injects its payload into a suspended copy of explorer.exe.",
    "The payload beacons every 60 seconds to 198.51.100.23 over HTTPS and accepts commands to run shell scripts.",
    "We recommend blocking ISO attachments at the mail gateway.",
)


def vendor_blog() -> str:
    """A vendor blog post with a cookie banner, a menu, a sidebar, share buttons, comments and a footer."""
    p = BLOG_PARAGRAPHS
    comments = "".join(
        f'<li class="comment"><div class="comment-author">Reader {n}</div>'
        f"<p>Great write-up, thanks for sharing number {n}!</p><a class=\"reply\">Reply</a></li>"
        for n in range(1, 6)
    )
    return f"""<!DOCTYPE html><html><head><title>NightHawk: a new loader in the wild | Acme Threat Labs</title>
<style>body {{ font-family: sans-serif; }} .cookie {{ position: fixed; }}</style>
<script>var trackingId = "UA-0000-1"; document.write("do not keep this");</script></head>
<body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience on our site.</p>
  <button>Accept all cookies</button><button>Manage preferences</button></div>
<header class="site-header"><a class="logo" href="/">Acme Threat Labs</a>
  <nav class="main-menu"><ul><li><a href="/products">Products</a></li><li><a href="/blog">Blog</a></li>
  <li><a href="/contact">Contact sales</a></li></ul></nav></header>
<div class="container"><div class="content-area">
<article class="post">
  <h1 class="entry-title">NightHawk: a new loader in the wild</h1>
  <div class="entry-meta">Posted by <a href="/author/jdoe">Jane Doe</a> on April 2, 2024 in Research</div>
  <div class="entry-content">
    <p>{p[0]} {p[1]}</p>
    <h2>Infection chain</h2>
    <p>{p[2]} {p[3]}</p>
    <ul><li>The ISO holds invoice.lnk and a hidden DLL.</li><li>The DLL is signed with a stolen certificate.</li></ul>
    <h2>Command and control</h2>
    <p>{p[4]}</p>
    <pre><code>rundll32.exe invoice.dll,DllRegisterServer</code></pre>
    <table><tr><th>Indicator</th><th>Type</th></tr><tr><td>198.51.100.23</td><td>C2 address</td></tr></table>
    <p>{p[5]}</p>
  </div>
  <div class="share-buttons">Share this post: <a>Twitter</a> <a>LinkedIn</a> <a>Email</a></div>
</article>
<section id="comments" class="comments-area"><h2 class="comments-title">5 thoughts on this post</h2>
  <ol class="comment-list">{comments}</ol>
  <div id="respond"><h3>Leave a comment</h3><form><textarea>Your comment</textarea><button>Post comment</button></form></div>
</section>
</div>
<div id="sidebar" class="sidebar widget-area">
  <div class="widget"><h3>Subscribe to our newsletter</h3><p>Get the latest research in your inbox every week.</p></div>
  <div class="widget"><h3>Popular posts</h3><ul><li><a href="/a">Ten tips for safer passwords</a></li>
  <li><a href="/b">Our product wins an award</a></li></ul></div></div></div>
<footer class="site-footer"><p>Copyright 2024 Acme Inc. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


NEWS_PARAGRAPHS = (
    "A ransomware attack has disrupted emergency services at three hospitals in the region, officials said on Monday.",
    "The attackers encrypted patient records and demanded a payment in bitcoin, according to a statement from the "
    "health authority.",
    "Investigators believe the group gained access through a vulnerable VPN appliance that had not been patched.",
    "Ambulances were diverted to neighbouring hospitals while staff returned to paper records.",
    "The health authority said it would not pay the ransom and that backups were being restored.",
)


def news_story() -> str:
    """A news story with a top menu, a ticker, ads, a 'most read' box, related stories and a newsletter form."""
    p = NEWS_PARAGRAPHS
    return f"""<!DOCTYPE html><html><head><title>Hospitals hit by ransomware attack - Daily Courier</title>
<script async src="https://ads.example/ad.js"></script></head>
<body>
<div class="top-bar"><a href="/subscribe">Subscribe</a> <a href="/login">Sign in</a></div>
<nav class="sections"><a href="/world">World</a> <a href="/business">Business</a> <a href="/tech">Technology</a></nav>
<div class="breaking-ticker">Breaking: Markets close higher after a volatile session</div>
<div class="ad-slot" id="ad-top">Advertisement</div>
<main>
<article class="story">
  <header><h1>Hospitals hit by ransomware attack</h1>
  <p class="byline">By Sam Reporter, Technology correspondent</p><time datetime="2024-05-06">6 May 2024</time></header>
  <div class="story-body">
    <p>{p[0]}</p>
    <p>{p[1]}</p>
    <div class="ad-slot inline-ad">Advertisement</div>
    <p>{p[2]}</p>
    <blockquote>We are working around the clock to restore services, a spokesperson said.</blockquote>
    <p>{p[3]}</p>
    <p>{p[4]}</p>
  </div>
  <div class="related"><h2>Related stories</h2><ul><li><a href="/x">Water utility hacked</a></li>
  <li><a href="/y">School district pays ransom</a></li></ul></div>
</article>
</main>
<aside class="most-read"><h2>Most read</h2><ol><li><a href="/1">Celebrity chef opens new restaurant</a></li>
<li><a href="/2">Weather warning for the weekend</a></li></ol></aside>
<div class="newsletter"><h2>Sign up to our morning briefing</h2><form><input placeholder="Email"><button>Sign up</button></form></div>
<footer><p>Daily Courier Ltd. All rights reserved.</p><a href="/terms">Terms</a></footer>
</body></html>"""
