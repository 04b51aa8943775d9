//! What the generator emits: the schema definitions codex-img sends or reads, the methods it calls, and
//! the server methods it deliberately leaves to the `Unrecognized` fallback variants.
//!
//! The schema bundle describes hundreds of types; codex-img needs a few dozen. Everything not listed
//! here is decoded as raw `serde_json::Value` wherever a listed type refers to it, so the generated code
//! stays small and every listed type stays tolerant of what it does not model.

/// One emitted type. `path` is the definition's path below `#/definitions/` (`v2/ThreadItem`).
pub struct Ty {
    pub path: &'static str,
    /// For objects: the only properties to emit (`None` = all of them). For unions: the only variants to
    /// model, by wire tag or key; the rest decode into the fallback variant.
    pub only: Option<&'static [&'static str]>,
}

const fn all(path: &'static str) -> Ty {
    Ty { path, only: None }
}

const fn only(path: &'static str, keys: &'static [&'static str]) -> Ty {
    Ty {
        path,
        only: Some(keys),
    }
}

/// Types emitted, in output order.
pub const TYPES: &[Ty] = &[
    // Handshake.
    all("InitializeParams"),
    all("ClientInfo"),
    only(
        "InitializeCapabilities",
        &["experimentalApi", "optOutNotificationMethods"],
    ),
    all("InitializeResponse"),
    // Account and preflight.
    all("v2/GetAccountParams"),
    all("v2/GetAccountResponse"),
    all("v2/Account"),
    all("v2/PlanType"),
    all("v2/AuthMode"),
    all("v2/GetAccountRateLimitsResponse"),
    only(
        "v2/RateLimitSnapshot",
        &[
            "limitId",
            "limitName",
            "planType",
            "primary",
            "secondary",
            "rateLimitReachedType",
        ],
    ),
    all("v2/RateLimitWindow"),
    all("v2/RateLimitReachedType"),
    all("v2/ModelProviderCapabilitiesReadParams"),
    all("v2/ModelProviderCapabilitiesReadResponse"),
    // Threads and turns. Params carry only fields that every supported release accepts.
    only(
        "v2/ThreadStartParams",
        &[
            "cwd",
            "ephemeral",
            "approvalPolicy",
            "sandbox",
            "model",
            "config",
            "baseInstructions",
            "developerInstructions",
        ],
    ),
    only("v2/AskForApproval", &["untrusted", "on-request", "never"]),
    all("v2/SandboxMode"),
    only(
        "v2/ThreadStartResponse",
        &["thread", "model", "modelProvider", "cwd"],
    ),
    only(
        "v2/Thread",
        &["id", "cliVersion", "ephemeral", "cwd", "createdAt"],
    ),
    all("v2/ThreadUnsubscribeParams"),
    all("v2/ThreadUnsubscribeResponse"),
    all("v2/ThreadUnsubscribeStatus"),
    only("v2/TurnStartParams", &["threadId", "input"]),
    all("v2/TurnStartResponse"),
    all("v2/TurnInterruptParams"),
    all("v2/TurnInterruptResponse"),
    all("v2/Turn"),
    all("v2/TurnStatus"),
    all("v2/TurnError"),
    all("v2/CodexErrorInfo"),
    all("v2/UserInput"),
    all("v2/ImageDetail"),
    only(
        "v2/ThreadItem",
        &[
            "userMessage",
            "agentMessage",
            "reasoning",
            "commandExecution",
            "imageGeneration",
        ],
    ),
    all("v2/ImageGenerationFailure"),
    all("v2/ImageGenerationInputImage"),
    // Notifications codex-img reads.
    all("v2/ThreadStartedNotification"),
    all("v2/TurnStartedNotification"),
    all("v2/TurnCompletedNotification"),
    all("v2/ItemStartedNotification"),
    all("v2/ItemCompletedNotification"),
    all("v2/ErrorNotification"),
    all("v2/AccountUpdatedNotification"),
    all("v2/AccountRateLimitsUpdatedNotification"),
    // Server requests and the answers codex-img gives.
    only(
        "CommandExecutionRequestApprovalParams",
        &["threadId", "turnId", "itemId", "command"],
    ),
    all("CommandExecutionRequestApprovalResponse"),
    only(
        "CommandExecutionApprovalDecision",
        &["accept", "acceptForSession", "decline", "cancel"],
    ),
    only(
        "FileChangeRequestApprovalParams",
        &["threadId", "turnId", "itemId"],
    ),
    all("FileChangeRequestApprovalResponse"),
    all("FileChangeApprovalDecision"),
    only(
        "ToolRequestUserInputParams",
        &["threadId", "turnId", "itemId"],
    ),
    all("ToolRequestUserInputResponse"),
    only(
        "McpServerElicitationRequestParams",
        &["threadId", "turnId", "serverName"],
    ),
    all("McpServerElicitationRequestResponse"),
    all("McpServerElicitationAction"),
    only(
        "PermissionsRequestApprovalParams",
        &["threadId", "turnId", "itemId"],
    ),
    all("PermissionsRequestApprovalResponse"),
    all("GrantedPermissionProfile"),
    all("PermissionGrantScope"),
    only(
        "DynamicToolCallParams",
        &["threadId", "turnId", "callId", "tool", "namespace"],
    ),
    all("DynamicToolCallResponse"),
    all("ChatgptAuthTokensRefreshParams"),
    all("ChatgptAuthTokensRefreshResponse"),
    all("ChatgptAuthTokensRefreshReason"),
    only("AttestationGenerateParams", &[]),
    all("AttestationGenerateResponse"),
    only("ApplyPatchApprovalParams", &["conversationId", "callId"]),
    all("ApplyPatchApprovalResponse"),
    only(
        "ExecCommandApprovalParams",
        &["conversationId", "callId", "command"],
    ),
    all("ExecCommandApprovalResponse"),
    only(
        "ReviewDecision",
        &[
            "approved",
            "approved_for_session",
            "approved_mcp_policy_amendment",
            "denied",
            "abort",
            "timed_out",
        ],
    ),
];

/// Requests codex-img sends: method, marker type name, params type, response type.
pub const CLIENT_REQUESTS: &[(&str, &str, &str, &str)] = &[
    (
        "initialize",
        "Initialize",
        "InitializeParams",
        "InitializeResponse",
    ),
    (
        "account/read",
        "AccountRead",
        "GetAccountParams",
        "GetAccountResponse",
    ),
    (
        "account/rateLimits/read",
        "AccountRateLimitsRead",
        "()",
        "GetAccountRateLimitsResponse",
    ),
    (
        "modelProvider/capabilities/read",
        "ModelProviderCapabilitiesRead",
        "ModelProviderCapabilitiesReadParams",
        "ModelProviderCapabilitiesReadResponse",
    ),
    (
        "thread/start",
        "ThreadStart",
        "ThreadStartParams",
        "ThreadStartResponse",
    ),
    (
        "thread/unsubscribe",
        "ThreadUnsubscribe",
        "ThreadUnsubscribeParams",
        "ThreadUnsubscribeResponse",
    ),
    (
        "turn/start",
        "TurnStart",
        "TurnStartParams",
        "TurnStartResponse",
    ),
    (
        "turn/interrupt",
        "TurnInterrupt",
        "TurnInterruptParams",
        "TurnInterruptResponse",
    ),
];

/// Client requests with side effects on the user's own Codex setup: they write `$CODEX_HOME/config.toml`
/// (`modelProvider/default/set` writes `model_provider` there, from 0.171.0), the user's skills, MCP
/// servers, feature flags or files, or spend account credit. codex-img is a guest in the user's Codex:
/// the generator refuses to put any of these in [`CLIENT_REQUESTS`], whatever the manifest says.
pub const FORBIDDEN_CLIENT_REQUESTS: &[&str] = &[
    "modelProvider/default/set",
    "modelProvider/config/write",
    "config/value/write",
    "config/batchWrite",
    "config/mcpServer/reload",
    "skills/config/write",
    "skills/extraRoots/set",
    "experimentalFeature/enablement/set",
    "externalAgentConfig/import",
    "fs/writeFile",
    "account/rateLimitResetCredit/consume",
    "account/logout",
    "account/login/start",
    "plugin/install",
    "plugin/uninstall",
    "marketplace/add",
    "marketplace/remove",
    "marketplace/upgrade",
    "thread/delete",
    "fs/remove",
    "fs/copy",
    "fs/createDirectory",
];

/// Whether a client request may never be sent: it is in [`FORBIDDEN_CLIENT_REQUESTS`], or its name says it
/// writes (`…/write`, `…/batchWrite`, `…/set`), so a future writer is refused before anyone lists it.
pub fn forbidden_to_send(method: &str) -> bool {
    let last = method.rsplit('/').next().unwrap_or(method);
    FORBIDDEN_CLIENT_REQUESTS.contains(&method)
        || matches!(last, "write" | "batchWrite" | "set" | "writeFile")
}

/// Notifications codex-img sends.
pub const CLIENT_NOTIFICATIONS: &[(&str, &str)] = &[("initialized", "INITIALIZED")];

/// Server notifications decoded into typed variants: method and variant name.
pub const SERVER_NOTIFICATIONS: &[(&str, &str)] = &[
    ("error", "Error"),
    ("thread/started", "ThreadStarted"),
    ("turn/started", "TurnStarted"),
    ("turn/completed", "TurnCompleted"),
    ("item/started", "ItemStarted"),
    ("item/completed", "ItemCompleted"),
    ("account/updated", "AccountUpdated"),
    ("account/rateLimits/updated", "AccountRateLimitsUpdated"),
];

/// Server requests, every one of them modelled: method and variant name. The response type is the
/// params type with `Params` replaced by `Response`.
pub const SERVER_REQUESTS: &[(&str, &str)] = &[
    (
        "item/commandExecution/requestApproval",
        "CommandExecutionRequestApproval",
    ),
    (
        "item/fileChange/requestApproval",
        "FileChangeRequestApproval",
    ),
    ("item/tool/requestUserInput", "ToolRequestUserInput"),
    (
        "mcpServer/elicitation/request",
        "McpServerElicitationRequest",
    ),
    (
        "item/permissions/requestApproval",
        "PermissionsRequestApproval",
    ),
    ("item/tool/call", "DynamicToolCall"),
    (
        "account/chatgptAuthTokens/refresh",
        "ChatgptAuthTokensRefresh",
    ),
    ("attestation/generate", "AttestationGenerate"),
    ("applyPatchApproval", "ApplyPatchApproval"),
    ("execCommandApproval", "ExecCommandApproval"),
];

/// Server notifications that codex-img deliberately leaves to `ServerNotification::Unrecognized`: they carry
/// nothing an image turn needs (deltas, UI state, realtime audio, MCP and hook status). A method in the
/// bundle that is in neither this list nor [`SERVER_NOTIFICATIONS`] stops the generator, so a new Codex
/// release that adds one is looked at by a person before it is ignored.
pub const IGNORED_NOTIFICATIONS: &[&str] = &[
    "thread/status/changed",
    "thread/readState/changed",
    "thread/archived",
    "thread/deleted",
    "thread/unarchived",
    "thread/closed",
    "thread/reverted",
    "skills/changed",
    "thread/name/updated",
    "thread/section/changed",
    "thread/attachment/updated",
    "thread/goal/updated",
    "thread/prediction/updated",
    "thread/goal/cleared",
    "thread/queue/changed",
    "project/changed",
    "thread/project/updated",
    "thread/environment/connected",
    "thread/environment/disconnected",
    "thread/settings/updated",
    "thread/tokenUsage/updated",
    "hook/started",
    "hook/completed",
    "turn/diff/updated",
    "turn/plan/updated",
    "item/autoApprovalReview/started",
    "item/autoApprovalReview/completed",
    "autoApprovalReview/strictReviewRequired",
    "item/agentMessage/delta",
    "item/plan/delta",
    "command/exec/outputDelta",
    "process/outputDelta",
    "process/exited",
    "item/commandExecution/outputDelta",
    "item/commandExecution/terminalInteraction",
    "item/fileChange/outputDelta",
    "item/fileChange/patchUpdated",
    "serverRequest/resolved",
    "item/mcpToolCall/progress",
    "mcpServer/oauthLogin/completed",
    "mcpServer/startupStatus/updated",
    "mcpServer/event/stream/notification",
    "account/gatewayOAuth/changed",
    "app/list/updated",
    "remoteControl/status/changed",
    "externalAgentConfig/import/progress",
    "externalAgentConfig/import/completed",
    "fs/changed",
    "item/reasoning/summaryTextDelta",
    "item/reasoning/summaryPartAdded",
    "item/reasoning/textDelta",
    "thread/compacted",
    "model/rerouted",
    "model/verification",
    "modelProvider/authRecoveryStarted",
    "modelProvider/authRecoveryCompleted",
    "turn/moderationMetadata",
    "model/safetyBuffering/updated",
    "warning",
    "guardianWarning",
    "deprecationNotice",
    "configWarning",
    "fuzzyFileSearch/sessionUpdated",
    "fuzzyFileSearch/sessionCompleted",
    // 0.171.0: partial results of `thread/search/stream`, which codex-img never sends. It names no
    // thread of its own (rows sit under `data`), so the session drops it unrouted.
    "thread/search/partial",
    "thread/realtime/started",
    "thread/realtime/itemAdded",
    "thread/realtime/item/started",
    "thread/realtime/item/transcript/delta",
    "thread/realtime/item/completed",
    "thread/realtime/transcript/delta",
    "thread/realtime/transcript/done",
    "thread/realtime/outputAudio/delta",
    "thread/realtime/sdp",
    "thread/realtime/error",
    "thread/realtime/closed",
    "windows/worldWritableWarning",
    "windowsSandbox/setupCompleted",
    "account/login/completed",
];
