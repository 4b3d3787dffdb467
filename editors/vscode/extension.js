// Starts `nnspec lsp` for .nn files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("nnspec").get("server.path", "nnspec");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient("nnspec", "nnspec", server, { documentSelector: [{ language: "nn" }] });
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
