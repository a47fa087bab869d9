import { describe, expect, it, vi } from "vitest";
import { resourceFetchers } from "../../functions/apply/resource-fetchers.js";
import { UnmappableDeliveryError } from "../../functions/vendors/errors.js";

describe("resource fetchers by format", () => {
  it("a format with no API configured cannot hydrate: the delivery goes to the DLQ with that reason", async () => {
    const fetcherFor = resourceFetchers({}, vi.fn());

    const fetching = fetcherFor("healthie")("message/1");

    await expect(fetching).rejects.toBeInstanceOf(UnmappableDeliveryError);
    await expect(fetching).rejects.toThrow("no healthie API is configured");
  });

  it("a failed secret read is not cached: the next delivery reads the secret again", async () => {
    const readSecret = vi.fn(async () => {
      throw new Error("secrets unavailable");
    });
    const fetcherFor = resourceFetchers(
      {
        elation: {
          apiBaseUrl: "https://elation.example/api/2.0/",
          tokenUrl: "https://elation.example/oauth2/token/",
          clientId: "c",
          clientSecretName: "s",
        },
      },
      readSecret,
    );

    await expect(fetcherFor("elation")("message_threads/1")).rejects.toThrow("secrets unavailable");
    await expect(fetcherFor("elation")("message_threads/1")).rejects.toThrow("secrets unavailable");

    expect(readSecret).toHaveBeenCalledTimes(2);
    expect(fetcherFor("elation")).toBe(fetcherFor("elation"));
  });
});
