// File: tools/cli.h
//
// The `convexlite` command surface (../shared/docs/reference-app.md, "Command line
// contract"), reusable by a user's own program:
//
//   int main(int argc, char** argv) {
//     cvx::App app;
//     ... register schema, functions, triggers ...
//     return cvx::tools::Main(app, argc, argv);
//   }
//
// Commands: dev, run, env, data, export, import, auth (docs/guides/getting-started.md).
// docs/examples/todo is a complete program built this way.

#ifndef CVX_TOOLS_CLI_H_
#define CVX_TOOLS_CLI_H_

#include "functions/app.h"

namespace cvx::tools {

// Runs the command named by argv[1]; returns the process exit code.
int Main(const App& app, int argc, char** argv);

}  // namespace cvx::tools

#endif  // CVX_TOOLS_CLI_H_
