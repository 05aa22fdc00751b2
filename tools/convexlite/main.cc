// The convexlite binary: the command surface over the built-in reference app.
#include "functions/app.h"
#include "tools/cli.h"
#include "tools/reference_app/reference_app.h"

int main(int argc, char** argv) {
  cvx::App app;
  cvx::RegisterReferenceApp(app);
  return cvx::tools::Main(app, argc, argv);
}
