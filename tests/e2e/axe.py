"""axe-core (vendored, tests/e2e/vendor/axe.min.js, MPL-2.0) injected into a page."""

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    """Run axe on the current page; return 'rule: target' lines for serious/critical violations.

    The page's context must be created with bypass_csp=True: the portal's CSP refuses inline
    scripts, and the injected axe is one."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{violation['impact']} {violation['id']}: {violation['help']} — {targets}")
    return found
