"""`nnspec lsp` driven by a real client (pytest-lsp), as an editor drives it.

Run by `cli/tests/lsp_client.rs` (`cargo test -p nnspec-cli --features
lsp-client-tests --test lsp_client`), which sets NNSPEC_BIN and NNSPEC_ROOT.
"""

import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

BIN = os.environ["NNSPEC_BIN"]
ROOT = pathlib.Path(os.environ["NNSPEC_ROOT"])

# A spec with a non-ASCII doc line and a non-ASCII character before the error
# on its line: LSP columns are UTF-16 code units.
BROKEN = """/// Größe: ein Netz für 𝑥 (a character outside the BMP takes two UTF-16 units)
network Bad {
    input x: [2];
    /* é𝑥 */ dense hidden: 4, activation = tnah;
    dense out: 1;
    loss mse;
}
"""
FIXED = BROKEN.replace("tnah", "tanh")

SPEC = """const H = 8;

/// Two branches joined.
network Joined {
    input x: [3];
    dense a: H, activation = relu;
    dense b(x): H, activation = tanh;
    add s(a, b);
    dense out: 2;
    loss softmax_cross_entropy;
    train { optimizer = adam(lr = 0.01), batch = 16, epochs = 5 }
}
"""


def uri(name):
    return (ROOT / "target" / name).resolve().as_uri()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[BIN, "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def open_doc(client, name, text, version=1):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri(name), language_id="nn", version=version, text=text)
        )
    )


def change(client, name, text, version):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(name), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def utf16(text):
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.asyncio
async def test_diagnostics_have_codes_utf16_ranges_and_clear_when_fixed(client: LanguageClient):
    open_doc(client, "bad.nn", BROKEN)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    diagnostics = client.diagnostics[uri("bad.nn")]
    assert len(diagnostics) == 1, diagnostics
    (d,) = diagnostics
    assert d.code == "E0202" and d.severity == types.DiagnosticSeverity.Error
    line = BROKEN.splitlines()[3]
    start = utf16(line[: line.index("tnah")])
    assert d.range.start == types.Position(line=3, character=start)
    assert d.range.end == types.Position(line=3, character=start + 4)
    assert "did you mean `tanh`" in d.message
    change(client, "bad.nn", FIXED, 2)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert len(client.diagnostics[uri("bad.nn")]) == 0


@pytest.mark.asyncio
async def test_related_labels_become_related_information(client: LanguageClient):
    twice = SPEC.replace("dense b(x)", "dense a(x)").replace("add s(a, b)", "add s(a, a)")
    open_doc(client, "twice.nn", twice)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    duplicate = [d for d in client.diagnostics[uri("twice.nn")] if d.code == "E0207"]
    assert duplicate and duplicate[0].related_information, client.diagnostics[uri("twice.nn")]
    assert duplicate[0].related_information[0].location.range.start.line == 5


def position_of(text, needle, occurrence=0, offset=0):
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    column = utf16(text[text.rfind("\n", 0, index) + 1 : index])
    return types.Position(line=line, character=column)


def doc_id(name):
    return types.TextDocumentIdentifier(uri=uri(name))


@pytest.mark.asyncio
async def test_hover_definition_references_rename(client: LanguageClient):
    open_doc(client, "joined.nn", SPEC)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert len(client.diagnostics[uri("joined.nn")]) == 0
    # Hover on `a` where `add` reads it: the node's summary row and doc.
    at_use = position_of(SPEC, "s(a", offset=2)
    hover = await client.text_document_hover_async(types.HoverParams(text_document=doc_id("joined.nn"), position=at_use))
    assert "**a**" in hover.contents.value and "[8]" in hover.contents.value and "32 parameters" in hover.contents.value
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc_id("joined.nn"), position=position_of(SPEC, "H, activation = relu"))
    )
    assert "const H = 8;" in hover.contents.value
    # Definition of the use.
    definition = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id("joined.nn"), position=at_use)
    )
    assert definition.range.start == position_of(SPEC, "a: H")
    # References of the constant: its definition and two uses.
    references = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc_id("joined.nn"),
            position=position_of(SPEC, "H = 8"),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert len(references) == 3
    # Rename a node: its definition and every use in parentheses.
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=doc_id("joined.nn"), position=at_use, new_name="left")
    )
    edits = edit.changes[uri("joined.nn")]
    assert len(edits) == 2 and all(e.new_text == "left" for e in edits)


@pytest.mark.asyncio
async def test_hover_on_the_languages_words_says_what_they_are_and_their_defaults(client: LanguageClient):
    open_doc(client, "words.nn", SPEC)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    async def hover_on(fragment, offset=0):
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=doc_id("words.nn"), position=position_of(SPEC, fragment, offset=offset))
        )
        return hover.contents.value

    # An option of the statement at hand, with its default.
    assert "default `identity`" in await hover_on("activation = relu")
    # An activation, an optimizer, a statement word, a loss, a train key.
    assert "max(0, x)" in await hover_on("relu;")
    assert "betas (0.9, 0.999)" in await hover_on("adam(")
    assert "residual" in await hover_on("add s")
    assert "CrossEntropyLoss" in await hover_on("softmax_cross_entropy")
    assert "default 32" in await hover_on("batch = 16")


@pytest.mark.asyncio
async def test_completion_formatting_and_symbols(client: LanguageClient):
    text = SPEC.replace("dense out: 2;", "dense out: 2, activation = ")
    open_doc(client, "complete.nn", text)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    position = position_of(text, "activation = \n", offset=len("activation = "))
    items = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id("complete.nn"), position=position)
    )
    labels = [i.label for i in items.items] if hasattr(items, "items") else [i.label for i in items]
    assert "relu" in labels and "softmax" in labels
    # Node names inside an input list.
    inputs = position_of(text, "add s(", offset=len("add s("))
    items = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id("complete.nn"), position=inputs)
    )
    labels = [i.label for i in items.items] if hasattr(items, "items") else [i.label for i in items]
    assert {"x", "a", "b"} <= set(labels) and "out" not in labels
    # Formatting: the `nnspec fmt` printer.
    messy = SPEC.replace("    dense a: H", "      dense   a :  H")
    open_doc(client, "messy.nn", messy)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc_id("messy.nn"), options=types.FormattingOptions(tab_size=4, insert_spaces=True)
        )
    )
    assert len(edits) == 1 and edits[0].new_text == SPEC
    # Symbols: the network and its nodes with their shapes.
    open_doc(client, "joined.nn", SPEC)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc_id("joined.nn"))
    )
    assert [s.name for s in symbols] == ["Joined"]
    children = {c.name: c.detail for c in symbols[0].children}
    assert children["s"] == "add [8]" and children["x"] == "input [3]"


@pytest.mark.asyncio
async def test_typing_every_prefix_of_the_repository_specs_never_stops_the_server(client: LanguageClient):
    specs = sorted((ROOT / "examples" / "specs").glob("*.nn"))
    assert specs
    version = 1
    for spec in specs:
        text = spec.read_text()
        name = "typed-" + spec.name
        open_doc(client, name, "", version)
        # Every character typed, as an editor sends changes (every 7th prefix keeps the test short).
        for end in list(range(0, len(text), 7)) + [len(text)]:
            version += 1
            change(client, name, text[:end], version)
            await client.text_document_hover_async(
                types.HoverParams(text_document=doc_id(name), position=types.Position(line=0, character=0))
            )
        # The server answers in order: once this request is answered, every
        # change's diagnostics have been published.
        await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc_id(name)))
        # The last diagnostics are those of the whole, valid spec: none is stale.
        errors = [d for d in client.diagnostics[uri(name)] if d.severity == types.DiagnosticSeverity.Error]
        assert errors == [], (spec, errors)
