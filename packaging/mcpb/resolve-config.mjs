// Prints, as JSON, the MCP server that an MCPB host such as Claude Desktop would start for an unpacked
// bundle: `mcp_config` resolved by the official library's own getMcpConfigForManifest
// (@anthropic-ai/mcpb): `${__dirname}`, the platform override, and the user's settings over the
// manifest's defaults. Used by packaging/test-installs.sh to run the bundle as Claude Desktop would.
//
// Usage: node resolve-config.mjs MCPB_PACKAGE_DIR BUNDLE_DIR USER_CONFIG_JSON
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, sep } from "node:path";
import { pathToFileURL } from "node:url";

const [mcpbDir, bundleDir, userConfigJson] = process.argv.slice(2);
if (!userConfigJson) {
  console.error("usage: node resolve-config.mjs MCPB_PACKAGE_DIR BUNDLE_DIR USER_CONFIG_JSON");
  process.exit(2);
}
const { getMcpConfigForManifest } = await import(pathToFileURL(join(mcpbDir, "dist", "index.js")).href);
const manifest = JSON.parse(readFileSync(join(bundleDir, "manifest.json"), "utf8"));
const home = homedir();
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: bundleDir,
  systemDirs: {
    HOME: home,
    DESKTOP: join(home, "Desktop"),
    DOCUMENTS: join(home, "Documents"),
    DOWNLOADS: join(home, "Downloads"),
  },
  userConfig: JSON.parse(userConfigJson),
  pathSeparator: sep,
});
if (!config) {
  console.error("the bundle's mcp_config did not resolve (a required setting is missing?)");
  process.exit(1);
}
console.log(JSON.stringify(config));
