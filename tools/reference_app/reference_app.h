// File: tools/reference_app/reference_app.h
//
// The reference app of ../shared/docs/reference-app.md: what `convexlite dev` serves when
// the user brings no app, and what every end-to-end check runs against. Names, argument
// shapes and error codes are a contract; add functions freely, change none.
//
// Better Auth is installed locally (functions/auth/better_auth.h) with the seed's user
// fields and triggers; its tables are part of this schema.

#ifndef CVX_TOOLS_REFERENCE_APP_REFERENCE_APP_H_
#define CVX_TOOLS_REFERENCE_APP_REFERENCE_APP_H_

#include "functions/app.h"

namespace cvx {

// Registers the reference app's schema, functions and HTTP routes on `app`.
void RegisterReferenceApp(App& app);

}  // namespace cvx

#endif  // CVX_TOOLS_REFERENCE_APP_REFERENCE_APP_H_
