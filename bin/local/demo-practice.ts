/**
 * The local stack's default tenant: a small synthetic practice (all names and NPIs are synthetic; the NPIs only
 * satisfy the check digit). Replay scenarios override any of these fields with their own `config`.
 */
export const demoPractice = {
  timezone: "America/New_York",
  consent: "required",
  roster: [
    { practitionerId: "dr-adams", npi: "1003000126", credential: "MD", name: "Synthetic Adams" },
    { practitionerId: "np-baker", npi: "1003000134", credential: "NP", name: "Synthetic Baker" },
    { practitionerId: "pt-chen", npi: "1003000142", credential: "PT", name: "Synthetic Chen" },
    { practitionerId: "rn-diaz", npi: "1003000159", credential: "RN", name: "Synthetic Diaz" },
    { practitionerId: "dr-evans", npi: "1003000167", credential: "DO", name: "Synthetic Evans" },
    { practitionerId: "lcsw-flores", npi: "1003000175", credential: "LCSW", name: "Synthetic Flores" },
  ],
};
