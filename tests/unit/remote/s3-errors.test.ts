import { expect, test } from "bun:test";
import { classifyS3Error } from "../../../src/remote/s3-remote";

test("an error without a body (a HEAD's) is named by its status, not 'Unknown'", () => {
  const head500 = classifyS3Error(
    { name: "Unknown", message: "UnknownError", $metadata: { httpStatusCode: 500 } },
    "looking up artifacts/x",
  );
  expect(head500.message).toBe("looking up artifacts/x: InternalError (HTTP 500)");
  expect(head500.kind).toBe("transient");
  const head403 = classifyS3Error({ name: "403", $metadata: { httpStatusCode: 403 } }, "looking up y");
  expect(head403.kind).toBe("denied");
  const named = classifyS3Error(
    { name: "SlowDown", message: "Please reduce your request rate.", $metadata: { httpStatusCode: 503 } },
    "uploading z",
  );
  expect(named.message).toBe("uploading z: SlowDown (HTTP 503): Please reduce your request rate.");
});
