// Query::Paginate and its cursors.
//
// Cursor grammar (the text is base64url without padding of):
//   cursor   := version(0x01) fingerprint[8] kind position mac[16]
//   kind     := 0x01 (after the index position that follows) | 0x02 (the end)
//   position := the engine index key of the last row the page covered
//   mac      := HMAC-SHA256(cursor_key, everything before it), first 16 bytes
// The fingerprint is a hash of the compiled query (table, index, range, order), so a
// cursor from another query is refused even with a valid mac.

#include <cmath>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/context.h"
#include "functions/query.h"
#include "openssl/hmac.h"
#include "openssl/sha.h"

namespace cvx {

Validator PaginationOptsValidator() {
  return v::Object({{"numItems", v::Float64()},
                    {"cursor", v::Nullable(v::String())},
                    {"endCursor", v::Optional(v::Nullable(v::String()))},
                    {"id", v::Optional(v::Float64())},
                    {"maximumRowsRead", v::Optional(v::Float64())},
                    {"maximumBytesRead", v::Optional(v::Float64())}});
}
namespace {

constexpr char kVersion = 0x01;
constexpr char kAfter = 0x01;
constexpr char kEnd = 0x02;
constexpr size_t kMacBytes = 16;

absl::Status InvalidCursor() {
  return InvalidArgument("InvalidCursor",
                         "InvalidCursor: Tried to run a query starting from a cursor, but it "
                         "looks like this cursor is from a different query.");
}

std::string Mac(const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), kMacBytes);
}

uint64_t Fingerprint(const ScanRequest& req) {
  std::string range;
  for (const auto& eq : req.range.eq) {
    range += eq ? ToConvexJson(*eq) : "undefined";
    range += ';';
  }
  auto bound = [&](const std::optional<IndexRange::Bound>& b) {
    if (!b) return std::string("-");
    return absl::StrCat(b->inclusive ? "[" : "(", b->value ? ToConvexJson(*b->value) : "u");
  };
  // A stable hash (absl::Hash is seeded per process): cursors must survive a restart.
  std::string text = absl::StrCat(req.table.size(), ":", req.table, req.index.size(), ":", req.index,
                                  range.size(), ":", range, bound(req.range.lower), "|",
                                  bound(req.range.upper), "|", req.order == Order::kAsc ? "asc" : "desc");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  uint64_t fingerprint = 0;
  for (int i = 0; i < 8; ++i) fingerprint = (fingerprint << 8) | digest[i];
  return fingerprint;
}

std::string EncodeCursor(const std::string& key, uint64_t fingerprint, bool end,
                         std::string_view position) {
  std::string raw(1, kVersion);
  for (int i = 7; i >= 0; --i) raw.push_back(static_cast<char>((fingerprint >> (8 * i)) & 0xff));
  raw.push_back(end ? kEnd : kAfter);
  if (!end) raw.append(position);
  raw += Mac(key, raw);
  return std::string(absl::WebSafeBase64Escape(AV(raw)));
}

struct DecodedCursor {
  bool end = false;
  std::string position;
};

absl::StatusOr<DecodedCursor> DecodeCursor(const std::string& key, uint64_t fingerprint,
                                           std::string_view text) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(AV(text), &raw) || raw.size() < 1 + 8 + 1 + kMacBytes ||
      raw[0] != kVersion) {
    return InvalidCursor();
  }
  std::string_view body(raw.data(), raw.size() - kMacBytes);
  std::string expected = Mac(key, body);
  if (CRYPTO_memcmp(expected.data(), raw.data() + body.size(), kMacBytes) != 0) {
    return InvalidCursor();
  }
  uint64_t fp = 0;
  for (int i = 0; i < 8; ++i) fp = (fp << 8) | static_cast<uint8_t>(raw[1 + i]);
  if (fp != fingerprint) return InvalidCursor();
  DecodedCursor out;
  out.end = raw[9] == kEnd;
  if (!out.end && raw[9] != kAfter) return InvalidCursor();
  out.position = std::string(body.substr(10));
  if (!out.end && out.position.empty()) return InvalidCursor();
  return out;
}

absl::Status BadOpts(std::string_view why) {
  return InvalidArgument("InvalidPaginationOptions",
                         absl::StrCat("Invalid paginationOpts: ", AV(why)));
}

}  // namespace

absl::StatusOr<PaginationOptions> PaginationOptions::FromValue(const Value& opts) {
  if (!opts.is_object()) return BadOpts("expected an object");
  PaginationOptions out;
  const Value* num = opts.Find("numItems");
  if (num == nullptr || !num->is_float64()) return BadOpts("numItems must be a number");
  out.num_items = num->float64();
  auto optional_string = [&](const char* name,
                             std::optional<std::string>* dst) -> absl::Status {
    const Value* v = opts.Find(name);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_string()) return BadOpts(absl::StrCat(name, " must be a string or null"));
    *dst = v->string();
    return absl::OkStatus();
  };
  CVX_RETURN_IF_ERROR(optional_string("cursor", &out.cursor));
  CVX_RETURN_IF_ERROR(optional_string("endCursor", &out.end_cursor));
  for (auto [name, dst] : {std::pair{"maximumRowsRead", &out.maximum_rows_read},
                           std::pair{"maximumBytesRead", &out.maximum_bytes_read}}) {
    const Value* v = opts.Find(name);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_float64()) return BadOpts(absl::StrCat(name, " must be a number"));
    *dst = v->float64();
  }
  return out;
}

absl::StatusOr<Value> Query::Paginate(const Value& pagination_opts) {
  CVX_ASSIGN_OR_RETURN(PaginationOptions options, PaginationOptions::FromValue(pagination_opts));
  return Paginate(options);
}

absl::StatusOr<Value> Query::Paginate(const PaginationOptions& options) {
  if (state_->paginated) {
    return InvalidArgument("MultiplePaginatedDatabaseQueries",
                           "This query or mutation function ran multiple paginated queries. "
                           "Convex only supports a single paginated query in each function.");
  }
  state_->paginated = true;
  if (!options.end_cursor) {
    if (!(options.num_items >= 1)) {
      return InvalidArgument("NoDocumentsForPagination",
                             "Must request at least 1 document while paginating");
    }
    if (options.num_items > kMaxPageSize) {
      return InvalidArgument("PageSizeTooLarge",
                             absl::StrCat("Requested too many items: ",
                                          FormatJsNumber(options.num_items)));
    }
  }
  if ((options.maximum_rows_read && !(*options.maximum_rows_read > 0)) ||
      (options.maximum_bytes_read && !(*options.maximum_bytes_read > 0))) {
    return InvalidArgument("InvalidPaginationLimit",
                           "maximumRowsRead and maximumBytesRead must be greater than 0");
  }
  if (!options.end_cursor && state_->journal_end_cursor) {
    PaginationOptions with_end = options;
    with_end.end_cursor = state_->journal_end_cursor;
    state_->journal_end_cursor.reset();
    state_->paginated = false;
    return Paginate(with_end);
  }
  CVX_ASSIGN_OR_RETURN(ScanRequest compiled, Compile());
  const uint64_t fingerprint = Fingerprint(compiled);
  const std::string& key = state_->cursor_key;

  std::optional<std::string> after;
  if (options.cursor) {
    CVX_ASSIGN_OR_RETURN(DecodedCursor start, DecodeCursor(key, fingerprint, *options.cursor));
    if (start.end) {
      std::string end_cursor = EncodeCursor(key, fingerprint, true, "");
      state_->page_end_cursor = end_cursor;
      return Value::FromObject({{"page", Value::FromArray({})},
                                {"isDone", Value::Boolean(true)},
                                {"continueCursor", Value::String(end_cursor)},
                                {"splitCursor", Value::Null()},
                                {"pageStatus", Value::Null()}});
    }
    after = start.position;
  }
  std::optional<std::string> until;
  bool until_end = false;
  size_t limit = static_cast<size_t>(options.num_items);
  if (options.end_cursor) {
    CVX_ASSIGN_OR_RETURN(DecodedCursor stop, DecodeCursor(key, fingerprint, *options.end_cursor));
    if (stop.end) until_end = true;
    else until = stop.position;
    limit = SIZE_MAX;
  }
  size_t max_rows = options.maximum_rows_read
                        ? static_cast<size_t>(std::ceil(*options.maximum_rows_read))
                        : SIZE_MAX;
  CVX_ASSIGN_OR_RETURN(Page page, Run(limit, after, until, max_rows));
  (void)until_end;

  // Reaching an explicit end cursor keeps the page's end fixed there.
  bool done = page.done && !until.has_value();
  if (until.has_value() && page.done) {
    // Stopped at the end cursor: the page ends exactly there.
    page.cursor = *until;
  }
  bool hit_row_limit = !page.done && page.documents.size() < limit && page.rows_read >= max_rows;
  std::string continue_cursor =
      done ? EncodeCursor(key, fingerprint, true, "")
           : EncodeCursor(key, fingerprint, false,
                          page.cursor.empty() ? (after ? *after : std::string()) : page.cursor);
  if (!done && page.cursor.empty() && !after) {
    // Nothing scanned and not done cannot happen; guard against an empty position.
    continue_cursor = EncodeCursor(key, fingerprint, true, "");
    done = true;
  }
  state_->page_end_cursor = continue_cursor;

  Value split = Value::Null();
  Value status = Value::Null();
  if (hit_row_limit || page.rows_read > kSplitRecommendedRows) {
    status = Value::String(hit_row_limit ? "SplitRequired" : "SplitRecommended");
    if (page.documents.size() >= 2) {
      // Split after the middle returned document. Its position is its index key, which
      // Query::Run does not expose per document, so split by re-scanning the first half.
      CVX_ASSIGN_OR_RETURN(Page first_half, Run(page.documents.size() / 2, after, until));
      split = Value::String(EncodeCursor(key, fingerprint, false, first_half.cursor));
    }
  }
  Array docs(std::make_move_iterator(page.documents.begin()),
             std::make_move_iterator(page.documents.end()));
  return Value::FromObject({{"page", Value::FromArray(std::move(docs))},
                            {"isDone", Value::Boolean(done)},
                            {"continueCursor", Value::String(std::move(continue_cursor))},
                            {"splitCursor", std::move(split)},
                            {"pageStatus", std::move(status)}});
}

}  // namespace cvx
