"""The restricted template language of admin-editable email templates.

A separate Django template `Engine` whose only built-ins are this module's library: the
tags `if`, `with`, `firstof` and `comment`, and a small set of text filters. No `load`
(no libraries at all), no `include`/`extends` (no loaders), no `debug` (which prints the
whole context), no `autoescape` or `safe` (which would switch escaping off in HTML
mail), no `url`, `csrf_token`, `templatetag`, `now`... `validate()` refuses such a
template when it is saved, naming what is wrong, and also any variable that is not one
of the documented ones (VARIABLES; TASK_VARIABLES for the task templates): templates see
plain values, never model instances.

Names are not enough, so the work is bounded too:
- no `for` and no `join`: every value is text (or a handful of keys), and over text a
  loop repeats its body once per character (three nested loops over a subject gave
  110 KB) and `join` repeats its argument once per character;
- text between the tags may hold no `{{`, `}}`, `{%`, `%}`, `{#` or `#}`: that is a
  broken tag (`Dear {{ recipient.name }, hello`), which would reach the reader as it is;
- `render()` counts what every piece of the template writes and stops as soon as the
  total passes its limit (`TooLarge`), so a template of a thousand copies of the
  message body costs no more than the limit.
"""

from django.template import Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import (
    FilterExpression,
    Lexer,
    Node,
    TextNode,
    TokenType,
    Variable,
    VariableNode,
)

register = Library()

TAGS = {
    "if": defaulttags.do_if,
    "with": defaulttags.do_with,
    "firstof": defaulttags.firstof,
    "comment": defaulttags.comment,
}
# the closing and middle parts of the tags above
_PARTS = {"elif", "else", "endif", "endwith", "endcomment"}
FILTERS = (
    "capfirst",
    "cut",
    "date",
    "default",
    "default_if_none",
    "first",
    "last",
    "length",
    "linebreaks",
    "linebreaksbr",
    "lower",
    "pluralize",
    "time",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "wordwrap",
    "yesno",
)
for _name, _tag in TAGS.items():
    register.tag(_name, _tag)
for _name in FILTERS:
    register.filter(_name, getattr(defaultfilters, _name))

# The documented variables (docs/email.md): a name with its keys, or None for a string.
VARIABLES: dict[str, frozenset[str] | None] = {
    "ticket": frozenset(
        {
            "number",
            "subject",
            "status",
            "priority",
            "department",
            "topic",
            "requester_name",
            "requester_email",
            "due",
            "created",
        }
    ),
    "recipient": frozenset({"name", "email"}),
    "entry": frozenset({"kind", "title", "poster", "body_text", "body_html"}),
    "agent": frozenset({"name"}),
    "department": frozenset({"name"}),
    "assignee": None,
    "team": None,
    "previous_department": None,
    "signature": None,
    "url": None,
}
# The task templates' variables (docs/email.md): a task instead of a ticket; the task's
# ticket is named by its number only (an agent may see a task without its ticket).
TASK_VARIABLES: dict[str, frozenset[str] | None] = {
    "task": frozenset(
        {
            "number",
            "title",
            "status",
            "department",
            "assignee",
            "team",
            "assigned_to",
            "due",
            "due_or_none",
            "created",
            "ticket",
        }
    ),
    **{k: v for k, v in VARIABLES.items() if k != "ticket"},
}


def variables_for(code: str | None) -> dict[str, frozenset[str] | None]:
    """The variables a template may use: the task ones for `task.*` codes."""
    return TASK_VARIABLES if (code or "").startswith("task.") else VARIABLES


REFUSED_WHY = {
    "for": "no value of an email template is a list, and a loop over text repeats its "
    "body once per character",
    "debug": "it would print every value the template can see",
    "load": "email templates load no libraries",
    "include": "email templates cannot read other templates",
    "extends": "email templates cannot read other templates",
    "ssi": "email templates cannot read files",
    "autoescape": "it would turn off the escaping of HTML mail",
}


class _SandboxEngine(Engine):
    default_builtins: list[str] = []


def engine(*, autoescape: bool) -> Engine:
    return _SandboxEngine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        builtins=["helpdesk.mail.sandbox"],
        autoescape=autoescape,
        string_if_invalid="",
    )


TEXT = engine(autoescape=False)  # subjects and plain-text parts: never HTML-escaped
HTML = engine(autoescape=True)  # HTML parts: every value escaped


_MARKERS = ("{{", "}}", "{%", "%}", "{#", "#}")


def _broken_tag(text: str) -> str | None:
    """The text from the first tag marker on (a few words), or None when there is none."""
    found = [at for at in (text.find(m) for m in _MARKERS) if at >= 0]
    if not found:
        return None
    return text[min(found) :][:40].splitlines()[0]


def _at(line: int | None, lines: bool) -> str:
    return f"Line {line}: " if lines and line else ""


def _tag_errors(source: str, lines: bool = False) -> list[str]:
    """The first refused tag, or the first text holding a broken tag (one refusal says
    it: what follows may depend on it)."""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            snippet = _broken_tag(token.contents)
            if snippet is not None:
                before = token.contents[: token.contents.find(snippet)]
                return [
                    _at(token.lineno + before.count("\n"), lines)
                    + f'Text that looks like a broken tag: "{snippet}". Tags are written '
                    "{{ value }}, {% tag %} and {# comment #}; a stray {{, }}, {%, %}, {# "
                    "or #} would reach the reader as it is."
                ]
        if token.token_type != TokenType.BLOCK or not token.contents.split():
            continue
        name = token.contents.split()[0]
        if name in TAGS or name in _PARTS:
            continue
        why = REFUSED_WHY.get(name, "only " + ", ".join(TAGS) + " are allowed")
        return [
            _at(token.lineno, lines)
            + f"The tag {{% {name} %}} is not allowed in email templates: {why}."
        ]
    return []


Known = dict[str, frozenset[str] | None]


def _lookup_error(var: Variable, local: frozenset[str], known: Known) -> str | None:
    if var.lookups is None:  # a literal
        return None
    root, *rest = var.lookups
    text = ".".join(var.lookups)
    if root in local:
        return None if not rest else f"{{{{ {text} }}}}"
    if root not in known:
        return f"{{{{ {text} }}}}"
    keys = known[root]
    if not rest:
        return None
    if keys is None or len(rest) > 1 or rest[0] not in keys:
        return f"{{{{ {text} }}}}"
    return None


Found = list[tuple[str, int | None]]  # (the unknown variable, its line)


def _expression_errors(expr, local, known: Known, line=None) -> Found:
    if not isinstance(expr, FilterExpression):
        return []
    found: Found = []
    variables = [expr.var] + [arg for _, args in expr.filters for lookup, arg in args if lookup]
    for var in variables:
        if isinstance(var, Variable):
            bad = _lookup_error(var, local, known)
            if bad:
                found.append((bad, line))
    return found


def _condition_errors(condition, local, known: Known, line=None) -> Found:
    if condition is None:
        return []
    if isinstance(condition, defaulttags.TemplateLiteral):  # an operand
        return _expression_errors(condition.value, local, known, line)
    return _condition_errors(
        getattr(condition, "first", None), local, known, line
    ) + _condition_errors(getattr(condition, "second", None), local, known, line)


def _node_errors(nodes, local: frozenset[str], known: Known) -> Found:
    found: Found = []
    for node in nodes:
        line = getattr(getattr(node, "token", None), "lineno", None)
        if isinstance(node, VariableNode):
            found += _expression_errors(node.filter_expression, local, known, line)
        elif isinstance(node, defaulttags.IfNode):
            for condition, branch in node.conditions_nodelists:
                found += _condition_errors(condition, local, known, line)
                found += _node_errors(branch, local, known)
        elif isinstance(node, defaulttags.WithNode):
            for expr in node.extra_context.values():
                found += _expression_errors(expr, local, known, line)
            found += _node_errors(node.nodelist, local | set(node.extra_context), known)
        elif isinstance(node, defaulttags.FirstOfNode):
            for expr in node.vars:
                found += _expression_errors(expr, local, known, line)
        elif isinstance(node, Node):
            for attr in node.child_nodelists:
                found += _node_errors(getattr(node, attr, None) or [], local, known)
    return found


def validate(source: str, variables: Known | None = None, *, lines: bool = False) -> list[str]:
    """What is wrong with a template's source, for people; [] when it may be saved.
    `variables`: those the template may use (VARIABLES, the ticket ones, by default).
    `lines`: each message starts with the line it is on ("Line 3: ...")."""
    known = VARIABLES if variables is None else variables
    source = source or ""
    errors = _tag_errors(source, lines)
    if errors:
        return errors
    try:
        template = TEXT.from_string(source)
    except TemplateSyntaxError as exc:
        text = str(exc).rstrip(".")
        if text.startswith("Invalid filter"):
            text += ". Allowed filters: " + ", ".join(FILTERS)
        token = getattr(exc, "token", None)
        return [_at(getattr(token, "lineno", None), lines) + f"Template error: {text}."]
    found = _node_errors(template.nodelist, frozenset(), known)
    unknown = list(dict.fromkeys(name for name, _ in found))
    if not unknown:
        return []
    if lines:
        where = {}
        for name, line in found:
            where.setdefault(name, line)
        unknown = [f"{name} (line {where[name]})" if where[name] else name for name in unknown]
    return [
        "Unknown variables: "
        + ", ".join(unknown)
        + ". Use the documented ones: "
        + ", ".join(_documented(known))
        + "."
    ]


def _documented(known: Known) -> list[str]:
    out = []
    for name, keys in known.items():
        out += [f"{name}.{k}" for k in sorted(keys)] if keys else [name]
    return out


# --- rendering within a limit -----------------------------------------------------------


class TooLarge(Exception):
    """The rendered text passed its limit; rendering stopped there."""


_WRITERS = (TextNode, VariableNode, defaulttags.FirstOfNode)  # the nodes that write text


def render(engine: Engine, source: str, context, *, limit: int | None) -> str:
    """Render `source` with `context` (a Context), raising TooLarge as soon as what the
    template wrote passes `limit` characters (None: no limit, for our own defaults).
    Every node that writes is counted as it writes, so the work stops there too."""
    template = engine.from_string(source)
    if limit is None:
        return template.render(context)
    left = [limit]
    for kind in _WRITERS:
        for node in template.nodelist.get_nodes_by_type(kind):
            node.render_annotated = _counted(node.render_annotated, left, limit)
    return template.render(context)


def _counted(render_node, left: list[int], limit: int):
    def counted(context):
        out = render_node(context)
        left[0] -= len(out)
        if left[0] < 0:
            raise TooLarge(f"the rendered text is over {limit:,} characters")
        return out

    return counted
