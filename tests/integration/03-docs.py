# SPDX-License-Identifier: MIT
# `asyncbridge docs`: the CLI on every shared AsyncAPI example (2.0, 2.6,
# 3.0, social-media with external $refs) and on the hostile fixture; checks
# exit codes and errors, that pages are complete (every channel, operation,
# message, payload property of the YAML source is on the page), internal
# links resolve, ids are unique, output is deterministic, hostile text is
# escaped; then renders pages in headless Chromium (bounded by timeouts):
# no console errors, the DOM is complete, screenshots (desktop and phone
# width) are kept in $ASYNCBRIDGE_BUILD/docs-integration/ for a person.
import glob
import html
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

BIN = os.environ.get("ASYNCBRIDGE_BIN", "")
DATA = os.environ.get("ASYNCBRIDGE_TESTDATA", "")
SRC = os.environ.get("ASYNCBRIDGE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("ASYNCBRIDGE_BUILD", tempfile.gettempdir())
OUT = os.path.join(BUILD, "docs-integration")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = os.path.join(SRC, "tests", "fixtures", "docs", "hostile.yaml")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def run(args, timeout=60):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout)


class PageParser(html.parser.HTMLParser):
    """Collects ids, internal links, text, tags; checks nesting of block tags."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "source", "wbr", "col", "area", "base"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = []
        self.links = []
        self.hrefs = []
        self.tags = set()
        self.stack = []
        self.errors = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
            if a["href"].startswith("#"):
                self.links.append(a["href"][1:])
        for k, _ in attrs:
            if k.startswith("on"):
                self.errors.append("event handler attribute %s on <%s>" % (k, tag))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def specs():
    out = []
    for ver in ("v2.0.0", "v2.6.0", "v3.0.0"):
        base = os.path.join(DATA, "asyncapi-examples", ver)
        out += sorted(glob.glob(os.path.join(base, "*.yml")))
        out += sorted(glob.glob(os.path.join(base, "social-media", "*", "asyncapi.yaml")))
    return out


def collect_props(schema, out, depth=0):
    if not isinstance(schema, dict) or depth > 4 or "$ref" in schema:
        return
    for k, v in (schema.get("properties") or {}).items():
        out.add(k)
        collect_props(v, out, depth + 1)
    for k in ("items", "additionalProperties"):
        collect_props(schema.get(k), out, depth + 1)
    for k in ("allOf", "anyOf", "oneOf"):
        for s in schema.get(k) or []:
            collect_props(s, out, depth + 1)


def source_names(path):
    """Channel ids, operation ids and inline payload properties from the YAML."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    channels = list((doc.get("channels") or {}).keys())
    ops = []
    if str(doc.get("asyncapi", "")).startswith("3"):
        ops = list((doc.get("operations") or {}).keys())
    else:
        for ch in (doc.get("channels") or {}).values():
            for verb in ("publish", "subscribe"):
                op = (ch or {}).get(verb) or {}
                if op.get("operationId"):
                    ops.append(op["operationId"])
    props = set()
    comps = (doc.get("components") or {})
    for m in (comps.get("messages") or {}).values():
        if isinstance(m, dict):
            collect_props(m.get("payload"), props)
    for s in (comps.get("schemas") or {}).values():
        collect_props(s, props)
    return channels, ops, props


def check_page(name, page, source=None):
    p = PageParser()
    p.feed(page)
    p.close()
    if not page.startswith("<!DOCTYPE html>"):
        fail("%s: no doctype" % name)
    for e in p.errors[:5]:
        fail("%s: %s" % (name, e))
    if p.stack:
        fail("%s: unclosed tags %s" % (name, p.stack[-5:]))
    dup = {i for i in p.ids if p.ids.count(i) > 1}
    if dup:
        fail("%s: duplicate ids %s" % (name, sorted(dup)[:5]))
    missing = sorted(set(p.links) - set(p.ids))
    if missing:
        fail("%s: links to missing anchors %s" % (name, missing[:5]))
    for bad in ("script", "iframe", "img", "link", "object", "embed", "svg"):
        if bad in p.tags:
            fail("%s: page has <%s>" % (name, bad))
    for h in p.hrefs:
        if not (h.startswith("#") or h.startswith("http://") or h.startswith("https://")
                or h.startswith("mailto:")):
            fail("%s: unexpected link target %r" % (name, h))
    for needed in ("nav", "main", "footer", "style"):
        if needed not in p.tags:
            fail("%s: no <%s>" % (name, needed))
    if source:
        text = "".join(p.text)
        channels, ops, props = source_names(source)
        for c in channels:
            if c not in text:
                fail("%s: channel %r not on the page" % (name, c))
        for o in ops:
            if o not in text:
                fail("%s: operation %r not on the page" % (name, o))
        for pr in props:
            if pr not in text:
                fail("%s: payload property %r not on the page" % (name, pr))
    return p


def cli_errors():
    tmp = tempfile.mkdtemp(prefix="docs-cli-")
    try:
        r = run([])
        # `asyncbridge docs` with nothing: usage error
        r = run(["docs"])
        if r.returncode != 2 or "missing SPEC" not in r.stderr:
            fail("docs without SPEC: rc %d, %r" % (r.returncode, r.stderr))
        r = run(["docs", "--help"])
        if r.returncode != 0 or "usage: asyncbridge docs" not in r.stdout:
            fail("docs --help: rc %d" % r.returncode)
        spec = os.path.join(DATA, "asyncapi-examples", "v3.0.0", "simple-asyncapi.yml")
        r = run(["docs", spec])
        if r.returncode != 2 or "missing -o DIR" not in r.stderr:
            fail("docs without -o: rc %d, %r" % (r.returncode, r.stderr))
        r = run(["docs", spec, "-o", tmp, "--format", "pdf"])
        if r.returncode != 2 or "unknown format" not in r.stderr:
            fail("docs --format pdf: rc %d, %r" % (r.returncode, r.stderr))
        r = run(["docs", spec, "-o"])
        if r.returncode != 2:
            fail("docs -o without value: rc %d" % r.returncode)
        r = run(["docs", spec, "--bogus", "-o", tmp])
        if r.returncode != 2 or "unknown option" not in r.stderr:
            fail("docs --bogus: rc %d" % r.returncode)
        r = run(["docs", os.path.join(tmp, "nope.yaml"), "-o", tmp])
        if r.returncode != 2 or "nope.yaml" not in r.stderr:
            fail("docs on a missing file: rc %d, %r" % (r.returncode, r.stderr))
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("asyncapi: 3.0.0\ninfo: [unclosed\n")
        r = run(["docs", bad, "-o", tmp])
        if r.returncode != 1 or "bad.yaml" not in r.stderr:
            fail("docs on broken YAML: rc %d, %r" % (r.returncode, r.stderr))
        if os.path.exists(os.path.join(tmp, "index.html")):
            fail("docs on broken YAML wrote index.html")
        notdir = os.path.join(tmp, "file")
        with open(notdir, "w") as f:
            f.write("x")
        r = run(["docs", spec, "-o", notdir])
        if r.returncode != 2 or "cannot create folder" not in r.stderr:
            fail("docs -o onto a file: rc %d, %r" % (r.returncode, r.stderr))
        # creates missing parents; markdown only writes README.md
        deep = os.path.join(tmp, "a", "b", "c")
        r = run(["docs", spec, "-o", deep, "--format", "markdown"])
        if r.returncode != 0 or not os.path.exists(os.path.join(deep, "README.md")) \
                or os.path.exists(os.path.join(deep, "index.html")):
            fail("docs --format markdown into new folder: rc %d %r" % (r.returncode, r.stderr))
        r = run(["docs", "--title=Fleet <docs>", "--output=" + deep, spec])
        if r.returncode != 0:
            fail("docs --title= --output=: rc %d %r" % (r.returncode, r.stderr))
        else:
            with open(os.path.join(deep, "index.html"), encoding="utf-8") as f:
                if "<h1>Fleet &lt;docs&gt;</h1>" not in f.read():
                    fail("--title not used")
        if any(n.startswith(".") for n in os.listdir(deep)):
            fail("temporary files left behind: %s" % os.listdir(deep))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def all_examples():
    n = 0
    for spec in specs():
        rel = os.path.relpath(spec, os.path.join(DATA, "asyncapi-examples"))
        name = rel.replace("/", "_").rsplit(".", 1)[0]
        d = os.path.join(OUT, "examples", name)
        shutil.rmtree(d, ignore_errors=True)
        r = run(["docs", spec, "-o", d, "--format", "both"])
        if r.returncode != 0:
            fail("%s: rc %d: %s" % (rel, r.returncode, r.stderr.strip()))
            continue
        n += 1
        with open(os.path.join(d, "index.html"), encoding="utf-8") as f:
            page = f.read()
        with open(os.path.join(d, "README.md"), encoding="utf-8") as f:
            md = f.read()
        check_page(rel, page, spec)
        if not md.startswith("# ") or "## Contents" not in md:
            fail("%s: README.md malformed" % rel)
        # deterministic: a second run gives the same bytes
        d2 = d + ".again"
        r = run(["docs", spec, "-o", d2, "--format", "both"])
        for fn in ("index.html", "README.md"):
            with open(os.path.join(d, fn), "rb") as a, open(os.path.join(d2, fn), "rb") as b:
                if a.read() != b.read():
                    fail("%s: %s differs between runs" % (rel, fn))
        shutil.rmtree(d2, ignore_errors=True)
    if n < 50:
        fail("only %d shared examples rendered" % n)
    print("rendered %d shared examples" % n, flush=True)


def hostile():
    d = os.path.join(OUT, "hostile")
    r = run(["docs", HOSTILE, "-o", d, "--format", "both"])
    if r.returncode != 0:
        fail("hostile: rc %d %s" % (r.returncode, r.stderr))
        return
    with open(os.path.join(d, "index.html"), encoding="utf-8") as f:
        page = f.read()
    p = check_page("hostile", page)
    text = "".join(p.text)
    for s in ("Evil <script>alert('title')</script> & \"quotes\" \u00e9\u6f22\U0001F600",
              "<img src=x onerror=alert(8)>", "</pre><script>alert(12)</script>",
              "name\"quoted'"):
        if s not in text:
            fail("hostile: text %r not shown literally" % s)
    low = page.lower()
    for s in ("javascript:alert(1)\"", "href=\"javascript", "href=\"data:"):
        if s in low:
            fail("hostile: %r in page" % s)


def chromium(name, page_path, width, height, shot):
    """Loads the page with JS off and on; returns (dom, console errors)."""
    prof = tempfile.mkdtemp(prefix="docs-chromium-")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + prof, "--enable-logging=stderr", "--v=0",
            "--window-size=%d,%d" % (width, height)]
    url = "file://" + os.path.abspath(page_path)
    try:
        r = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True,
                           timeout=90)
        dom = r.stdout
        errs = [l for l in r.stderr.splitlines()
                if "CONSOLE" in l or "Uncaught" in l or "Refused to" in l
                or "net::ERR" in l]
        r2 = subprocess.run(base + ["--screenshot=" + shot, url], capture_output=True,
                            text=True, timeout=90)
        errs += [l for l in r2.stderr.splitlines()
                 if "CONSOLE" in l or "Uncaught" in l or "Refused to" in l or "net::ERR" in l]
        return dom, errs
    finally:
        shutil.rmtree(prof, ignore_errors=True)


def check_overflow(name, page_path, width):
    """Copy of the page plus a probe script (the page itself has none):
    returns a description of elements wider than the window, or ""."""
    probe = ("<script>var o=[],w=document.documentElement.clientWidth;"
             "document.querySelectorAll('body *').forEach(function(e){"
             "var r=e.getBoundingClientRect();if(r.right>w+1&&!e.closest('.tbl,pre'))"
             "o.push(e.tagName+'.'+e.className+':'+Math.round(r.right));});"
             "document.body.setAttribute('data-overflow',"
             "(document.documentElement.scrollWidth>w?'scroll '+document.documentElement.scrollWidth+' ':'')"
             "+o.slice(0,8).join(' '));</script>")
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    copy = os.path.join(OUT, "probe-%s.html" % name)
    with open(copy, "w", encoding="utf-8") as f:
        f.write(page.replace("</body>", probe + "</body>"))
    prof = tempfile.mkdtemp(prefix="docs-chromium-")
    try:
        r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-quic", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--user-data-dir=" + prof, "--window-size=%d,1000" % width,
                            "--dump-dom", "file://" + os.path.abspath(copy)],
                           capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        return "probe timed out"
    finally:
        shutil.rmtree(prof, ignore_errors=True)
        os.remove(copy)
    marker = 'data-overflow="'
    i = r.stdout.find(marker)
    if i < 0:
        return "probe did not run"
    return html.unescape(r.stdout[i + len(marker):r.stdout.find('"', i + len(marker))])


def browser():
    if not os.path.exists(CHROMIUM):
        fail("chromium not installed (apt-get install chromium)")
        return
    shots = os.path.join(OUT, "screenshots")
    os.makedirs(shots, exist_ok=True)
    pages = [
        ("streetlights-mqtt-3.0", os.path.join(OUT, "examples",
                                               "v3.0.0_streetlights-mqtt-asyncapi", "index.html")),
        ("social-media-backend-2.6", os.path.join(OUT, "examples",
                                                  "v2.6.0_social-media_backend_asyncapi",
                                                  "index.html")),
        ("hostile", os.path.join(OUT, "hostile", "index.html")),
    ]
    for name, path in pages:
        if not os.path.exists(path):
            fail("browser: %s not generated" % path)
            continue
        # headless Chromium's smallest window is 500 px wide: that is the "phone"
        overflow = check_overflow(name, path, 500)
        if overflow:
            fail("browser %s: page wider than a 500 px screen: %s" % (name, overflow))
        for label, w, h in (("desktop", 1200, 2000), ("phone", 500, 1600)):
            shot = os.path.join(shots, "%s-%s.png" % (name, label))
            if os.path.exists(shot):
                os.remove(shot)
            try:
                dom, errs = chromium(name, path, w, h, shot)
            except subprocess.TimeoutExpired:
                fail("browser: %s timed out" % name)
                continue
            for e in errs[:5]:
                fail("browser %s: console: %s" % (name, e))
            if "</footer>" not in dom or "<main id=\"main\">" not in dom:
                fail("browser %s: DOM incomplete (%d bytes)" % (name, len(dom)))
            if "<script" in dom.lower():
                fail("browser %s: a script element in the DOM" % name)
            try:
                with open(shot, "rb") as f:
                    head = f.read(8)
                if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(shot) < 5000:
                    fail("browser %s: screenshot looks empty" % name)
            except OSError:
                fail("browser %s: no screenshot" % name)
    # print CSS: the page prints (navigation hidden) to a PDF a person can open
    pdf = os.path.join(shots, "streetlights-mqtt-3.0.pdf")
    prof = tempfile.mkdtemp(prefix="docs-chromium-")
    try:
        if os.path.exists(pdf):
            os.remove(pdf)
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--user-data-dir=" + prof,
                        "--no-pdf-header-footer", "--print-to-pdf=" + pdf,
                        "file://" + os.path.abspath(pages[0][1])],
                       capture_output=True, timeout=90)
        with open(pdf, "rb") as f:
            if f.read(5) != b"%PDF-" or os.path.getsize(pdf) < 10000:
                fail("print: PDF looks empty")
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("print to PDF: %s" % e)
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    print("screenshots in %s" % shots, flush=True)


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("ASYNCBRIDGE_BIN not set or not executable", file=sys.stderr)
        return 1
    if not os.path.isdir(os.path.join(DATA, "asyncapi-examples")):
        print("ASYNCBRIDGE_TESTDATA has no asyncapi-examples", file=sys.stderr)
        return 1
    os.makedirs(OUT, exist_ok=True)
    cli_errors()
    all_examples()
    hostile()
    browser()
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
