//! Quota and weights through the operator API (`UPDATE_QUOTA` in its 1.9 form, the 1.8
//! `SET_QUOTA`/`REMOVE_QUOTA`/`GET_QUOTA`, `UPDATE_WEIGHTS`/`GET_WEIGHTS`) and the legacy
//! `/quota` and `/weights` endpoints.
//!
//! ```text
//!  request ──validate (pure, below)──▶ registrar op (UpdateQuota / UpdateWeights)
//!          ◀──400/409 on refusal        │ durable write
//!                                       ▼
//!                     allocator.update_quota / update_weights, offers rescinded, 200
//! ```
//! The answer is sent only after the registry holds the change.

use std::collections::{BTreeMap, BTreeSet};

use libprocess::{Context, Reply, Request, Response};
use mesos_protos::resources::{ResourceLimits, ResourceQuantities, Resources, Scalar};
use mesos_protos::v1;
use mesos_protos::v1::master::{call, response};
use mesos_protos::v1::quota::{QuotaConfig, QuotaInfo, QuotaRequest, QuotaStatus};

use super::Master;
use crate::allocator::roles::{is_in_subtree, validate_role};
use crate::allocator::{AllocatorError, HierarchicalAllocator};
use crate::registrar::Operation;

/// Why a quota or weights request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 400.
    BadRequest(String),
    /// 409 (the 1.8 capacity heuristic).
    Conflict(String),
}

impl Refusal {
    fn response(&self) -> Response {
        let (code, msg) = match self {
            Refusal::BadRequest(m) => (400, m),
            Refusal::Conflict(m) => (409, m),
        };
        Response::status(code)
            .with_body(msg.clone())
            .with_header("Content-Type", "text/plain; charset=utf-8")
    }
}

/// Guarantees and limits of a stored quota config in the allocator's types.
pub(crate) fn config_quantities(c: &QuotaConfig) -> (ResourceQuantities, ResourceLimits) {
    let mut g = ResourceQuantities::new();
    for (name, s) in &c.guarantees {
        g.add(name, Scalar::from_f64(s.value));
    }
    let mut l = ResourceLimits::default();
    for (name, s) in &c.limits {
        l.set(name, Scalar::from_f64(s.value));
    }
    (g, l)
}

/// Hands the recovered quota configs to the allocator (before it runs).
pub(super) fn recover_quotas(
    allocator: &mut HierarchicalAllocator,
    quotas: &BTreeMap<String, QuotaConfig>,
) -> Result<(), AllocatorError> {
    for (role, c) in quotas {
        let (g, l) = config_quantities(c);
        allocator.update_quota(role, &g, &l)?;
    }
    Ok(())
}

fn scalar_map(m: &BTreeMap<String, f64>) -> std::collections::HashMap<String, v1::value::Scalar> {
    m.iter()
        .map(|(k, v)| (k.clone(), v1::value::Scalar { value: *v }))
        .collect()
}

fn quantities_text(m: &BTreeMap<String, f64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Scalar quantities by name.
type Amounts = BTreeMap<String, f64>;

fn add_amounts(into: &mut Amounts, r: &Resources) {
    for e in r.scalars().iter() {
        if let mesos_protos::resources::ResourceValue::Scalar(s) = e.value() {
            *into.entry(e.name().to_string()).or_default() += s.as_f64();
        }
    }
}

fn contains_amounts(have: &Amounts, want: &Amounts) -> bool {
    want.iter()
        .all(|(k, v)| *v <= have.get(k).copied().unwrap_or(0.0) + 1e-9)
}

/// 1.8 `QuotaRequest` validation: a valid top-level role other than `*`, and a guarantee
/// of unreserved, non-revocable scalars without disk sources, each name once.
pub(crate) fn validate_request(req: &QuotaRequest) -> Result<(String, Amounts), String> {
    let role = req
        .role
        .clone()
        .ok_or_else(|| "quota request must name a role".to_string())?;
    validate_role(&role).map_err(|e| e.to_string())?;
    if role == "*" {
        return Err("quota cannot be set for the '*' role".into());
    }
    if role.contains('/') {
        return Err(format!(
            "quota cannot be set for the non-top-level role '{role}' (use UPDATE_QUOTA)"
        ));
    }
    if req.guarantee.is_empty() {
        return Err("quota guarantee must not be empty".into());
    }
    let mut amounts = Amounts::new();
    for r in &req.guarantee {
        if r.r#type != v1::value::Type::Scalar as i32 || r.scalar.is_none() {
            return Err(format!("quota resource '{}' is not a scalar", r.name));
        }
        #[allow(deprecated)]
        let reserved = !r.reservations.is_empty()
            || r.role.as_deref().is_some_and(|x| x != "*")
            || r.reservation.is_some();
        if reserved {
            return Err(format!("quota resource '{}' must not be reserved", r.name));
        }
        if r.revocable.is_some() {
            return Err(format!("quota resource '{}' must not be revocable", r.name));
        }
        if r.disk.is_some() {
            return Err(format!(
                "quota resource '{}' must not carry disk info",
                r.name
            ));
        }
        let v = r.scalar.as_ref().map_or(0.0, |s| s.value);
        if !v.is_finite() || v < 0.0 {
            return Err(format!(
                "quota resource '{}' has an invalid value {v}",
                r.name
            ));
        }
        if amounts.insert(r.name.clone(), v).is_some() {
            return Err(format!("quota request has duplicate resource '{}'", r.name));
        }
    }
    Ok((role, amounts))
}

/// 1.9 `QuotaConfig` validation of one config on its own.
pub(crate) fn validate_config(c: &QuotaConfig) -> Result<(), String> {
    validate_role(&c.role).map_err(|e| e.to_string())?;
    if c.role == "*" {
        return Err("quota cannot be set for the '*' role".into());
    }
    for (kind, m) in [("guarantee", &c.guarantees), ("limit", &c.limits)] {
        for (name, s) in m {
            if name.is_empty() {
                return Err(format!("role '{}' has a {kind} with an empty name", c.role));
            }
            if !s.value.is_finite() || s.value < 0.0 {
                return Err(format!(
                    "role '{}' has an invalid {kind} {name}:{}",
                    c.role, s.value
                ));
            }
        }
    }
    for (name, g) in &c.guarantees {
        if let Some(l) = c.limits.get(name) {
            if g.value > l.value + 1e-9 {
                return Err(format!(
                    "role '{}' guarantee {name}:{} is greater than its limit {name}:{}",
                    c.role, g.value, l.value
                ));
            }
        }
    }
    Ok(())
}

/// Limits of a role must not exceed those of an ancestor (1.9 hierarchy rule).
pub(crate) fn validate_hierarchy(all: &BTreeMap<String, QuotaConfig>) -> Result<(), String> {
    for (role, c) in all {
        for (other, p) in all {
            if other == role || !is_in_subtree(role, other) {
                continue;
            }
            for (name, pl) in &p.limits {
                let child = c.limits.get(name).map(|s| s.value);
                if child.is_some_and(|v| v > pl.value + 1e-9) {
                    return Err(format!(
                        "role '{role}' limit {name}:{} exceeds the limit {name}:{} of its ancestor '{other}'",
                        child.unwrap_or_default(),
                        pl.value
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The GET_QUOTA / `GET /quota` answer: legacy infos and 1.9 configs.
#[allow(deprecated)]
pub(crate) fn quota_status(quotas: &BTreeMap<String, QuotaConfig>) -> QuotaStatus {
    QuotaStatus {
        infos: quotas
            .values()
            .map(|c| QuotaInfo {
                role: Some(c.role.clone()),
                principal: None,
                guarantee: c
                    .guarantees
                    .iter()
                    .map(|(name, s)| v1::Resource {
                        name: name.clone(),
                        r#type: v1::value::Type::Scalar as i32,
                        scalar: Some(*s),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect(),
        configs: quotas.values().cloned().collect(),
    }
}

/// Validates `UPDATE_WEIGHTS` / `PUT /weights` entries.
pub(crate) fn validate_weights(
    infos: &[v1::WeightInfo],
    whitelist: Option<&[String]>,
) -> Result<Vec<(String, f64)>, String> {
    let mut out = Vec::with_capacity(infos.len());
    let mut seen = BTreeSet::new();
    for w in infos {
        let role = w
            .role
            .clone()
            .ok_or_else(|| "weight info must name a role".to_string())?;
        validate_role(&role).map_err(|e| e.to_string())?;
        if let Some(list) = whitelist {
            if !list.contains(&role) {
                return Err(format!("role '{role}' is not in the --roles whitelist"));
            }
        }
        if !w.weight.is_finite() || w.weight <= 0.0 {
            return Err(format!(
                "invalid weight {} for role '{role}': weights must be positive",
                w.weight
            ));
        }
        if !seen.insert(role.clone()) {
            return Err(format!("role '{role}' appears more than once"));
        }
        out.push((role, w.weight));
    }
    Ok(out)
}

fn plain(code: u16, msg: impl Into<String>) -> Response {
    Response::status(code)
        .with_body(msg.into())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

fn later(rx: futures::channel::oneshot::Receiver<Response>) -> Reply {
    Reply::later(async move {
        rx.await
            .unwrap_or_else(|_| plain(503, "master terminated before the registry answered"))
    })
}

impl Master {
    /// Cluster capacity for quota checks: non-revocable scalars of registered agents,
    /// leaving out static reservations (they can serve only their role).
    fn quota_capacity(&self) -> Amounts {
        let mut out = Amounts::new();
        for a in self.state.agents.registered.values() {
            let usable = a
                .total
                .non_revocable()
                .filter(|e| e.is_unreserved() || e.is_dynamically_reserved());
            add_amounts(&mut out, &usable);
        }
        out
    }

    /// What `role`'s subtree consumes toward quota: unreserved resources allocated or
    /// offered to it, plus every reservation of the subtree.
    fn quota_consumption(&self, role: &str) -> Amounts {
        let mut out = Amounts::new();
        for a in self.state.agents.registered.values() {
            let reserved = a
                .total
                .filter(|e| e.reservation_role().is_some_and(|r| is_in_subtree(r, role)));
            add_amounts(&mut out, &reserved);
            for used in a.used.values() {
                let mine = used.filter(|e| {
                    e.is_unreserved() && e.allocation_role().is_some_and(|r| is_in_subtree(r, role))
                });
                add_amounts(&mut out, &mine);
            }
        }
        for o in self.state.offers.values() {
            if is_in_subtree(&o.role, role) {
                add_amounts(&mut out, &o.resources.unreserved());
            }
        }
        out
    }

    fn weights_in_force(&self) -> BTreeMap<String, f64> {
        let mut w: BTreeMap<String, f64> = self.flags.weights.iter().cloned().collect();
        for (r, v) in &self.registrar.state().weights {
            w.insert(r.clone(), *v);
        }
        w
    }

    /// Rescinds outstanding offers so the next cycle divides the cluster under the new
    /// quota or weights (`keep` says which offers may stay).
    fn rescind_offers_except(&mut self, keep: impl Fn(&str) -> bool) {
        let ids: Vec<String> = self
            .state
            .offers
            .iter()
            .filter(|(_, o)| !keep(&o.role))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.rescind_offer(&id);
        }
    }

    /// Persists `config` (removal when it has neither guarantees nor limits), then tells
    /// the allocator and answers 200.
    fn store_quota(&mut self, ctx: &mut Context<Self>, configs: Vec<QuotaConfig>) -> Reply {
        let (tx, rx) = futures::channel::oneshot::channel::<Response>();
        let mut tx = Some(tx);
        let n = configs.len();
        // The batch is applied in order: the last operation's completion answers.
        for (i, c) in configs.into_iter().enumerate() {
            let last_tx = if i + 1 == n { tx.take() } else { None };
            let config = c.clone();
            self.registry_op(
                ctx,
                Operation::UpdateQuota(c),
                Box::new(move |m, _ctx, result| {
                    let ok = matches!(result, Ok(Ok(_)));
                    if ok {
                        let (g, l) = config_quantities(&config);
                        if let Err(e) = m.allocator.update_quota(&config.role, &g, &l) {
                            tracing::warn!(role = %config.role, error = %e, "allocator refused quota");
                        }
                        // Offers elsewhere may be needed for a new guarantee, and the
                        // role's own may break a new limit: the next cycle re-divides all.
                        m.rescind_offers_except(|_| false);
                    }
                    if let Some(tx) = last_tx {
                        let resp = if ok {
                            Response::status(200)
                        } else {
                            plain(500, format!("registry update failed: {result:?}"))
                        };
                        let _ = tx.send(resp);
                    }
                }),
            );
        }
        if let Some(tx) = tx {
            let _ = tx.send(Response::status(200));
        }
        later(rx)
    }

    /// 1.8 `SET_QUOTA` / `POST /quota`.
    pub(super) fn set_quota_request(
        &mut self,
        ctx: &mut Context<Self>,
        req: QuotaRequest,
    ) -> Reply {
        let (role, guarantee) = match validate_request(&req) {
            Ok(x) => x,
            Err(e) => {
                return Refusal::BadRequest(format!("Failed to validate set quota request: {e}"))
                    .response()
                    .into()
            }
        };
        if self.registrar.state().quotas.contains_key(&role) {
            return Refusal::BadRequest(format!(
                "Failed to validate set quota request: role '{role}' already has quota"
            ))
            .response()
            .into();
        }
        if !req.force.unwrap_or(false) {
            let mut total = guarantee.clone();
            for c in self.registrar.state().quotas.values() {
                if c.role.contains('/') {
                    continue;
                }
                for (k, s) in &c.guarantees {
                    *total.entry(k.clone()).or_default() += s.value;
                }
            }
            let capacity = self.quota_capacity();
            if !contains_amounts(&capacity, &total) {
                return Refusal::Conflict(format!(
                    "Heuristic capacity check for set quota request failed: total quota guarantees '{}' exceed cluster capacity '{}'; use 'force' to override",
                    quantities_text(&total),
                    quantities_text(&capacity)
                ))
                .response()
                .into();
            }
        }
        // The 1.8 guarantee also acts as the limit.
        let map = scalar_map(&guarantee);
        let config = QuotaConfig {
            role,
            guarantees: map.clone(),
            limits: map,
        };
        self.store_quota(ctx, vec![config])
    }

    /// 1.8 `REMOVE_QUOTA` / `DELETE /quota/<role>`.
    pub(super) fn remove_quota_request(&mut self, ctx: &mut Context<Self>, role: String) -> Reply {
        if let Err(e) = validate_role(&role) {
            return Refusal::BadRequest(format!("Failed to validate remove quota request: {e}"))
                .response()
                .into();
        }
        if !self.registrar.state().quotas.contains_key(&role) {
            return Refusal::BadRequest(format!(
                "Failed to validate remove quota request: role '{role}' has no quota set"
            ))
            .response()
            .into();
        }
        self.store_quota(
            ctx,
            vec![QuotaConfig {
                role,
                ..Default::default()
            }],
        )
    }

    /// 1.9 `UPDATE_QUOTA`: all configs are checked together, then stored in one batch.
    pub(super) fn update_quota_request(
        &mut self,
        ctx: &mut Context<Self>,
        force: bool,
        configs: Vec<QuotaConfig>,
    ) -> Reply {
        let bad = |e: String| -> Reply {
            Refusal::BadRequest(format!("Invalid QuotaConfig: {e}"))
                .response()
                .into()
        };
        let mut seen = BTreeSet::new();
        for c in &configs {
            if let Err(e) = validate_config(c) {
                return bad(e);
            }
            if !seen.insert(c.role.clone()) {
                return bad(format!("role '{}' appears more than once", c.role));
            }
        }
        let mut after = self.registrar.state().quotas.clone();
        for c in &configs {
            if c.guarantees.is_empty() && c.limits.is_empty() {
                after.remove(&c.role);
            } else {
                after.insert(c.role.clone(), c.clone());
            }
        }
        if let Err(e) = validate_hierarchy(&after) {
            return bad(e);
        }
        if !force {
            let mut total = Amounts::new();
            for c in after.values().filter(|c| !c.role.contains('/')) {
                for (k, s) in &c.guarantees {
                    *total.entry(k.clone()).or_default() += s.value;
                }
            }
            let capacity = self.quota_capacity();
            if !contains_amounts(&capacity, &total) {
                return bad(format!(
                    "total quota guarantees '{}' exceed cluster capacity '{}' (use 'force' to bypass this check)",
                    quantities_text(&total),
                    quantities_text(&capacity)
                ));
            }
            for c in &configs {
                let consumed = self.quota_consumption(&c.role);
                for (name, l) in &c.limits {
                    let used = consumed.get(name).copied().unwrap_or(0.0);
                    if used > l.value + 1e-9 {
                        return bad(format!(
                            "role '{}' is already consuming {name}:{used}, more than the requested limit {name}:{} (use 'force' to bypass this check)",
                            c.role, l.value
                        ));
                    }
                }
            }
        }
        if configs.is_empty() {
            return Response::status(200).into();
        }
        self.store_quota(ctx, configs)
    }

    /// `UPDATE_WEIGHTS` / `PUT /weights`.
    pub(super) fn update_weights_request(
        &mut self,
        ctx: &mut Context<Self>,
        infos: Vec<v1::WeightInfo>,
    ) -> Reply {
        let weights = match validate_weights(&infos, self.flags.roles.as_deref()) {
            Ok(w) => w,
            Err(e) => {
                return Refusal::BadRequest(format!(
                    "Failed to validate update weights request: {e}"
                ))
                .response()
                .into()
            }
        };
        let (tx, rx) = futures::channel::oneshot::channel::<Response>();
        self.registry_op(
            ctx,
            Operation::UpdateWeights(weights.clone()),
            Box::new(move |m, _ctx, result| {
                if !matches!(result, Ok(Ok(_))) {
                    let _ = tx.send(plain(500, format!("registry update failed: {result:?}")));
                    return;
                }
                if let Err(e) = m.allocator.update_weights(&weights) {
                    tracing::warn!(error = %e, "allocator refused weights");
                }
                let touched: BTreeSet<String> = weights.iter().map(|(r, _)| r.clone()).collect();
                let in_use = m
                    .state
                    .frameworks
                    .values()
                    .any(|f| f.roles().iter().any(|r| touched.contains(r)));
                if in_use {
                    m.rescind_offers_except(|_| false);
                }
                let _ = tx.send(Response::status(200));
            }),
        );
        later(rx)
    }

    fn get_weights(&self) -> Vec<v1::WeightInfo> {
        self.weights_in_force()
            .into_iter()
            .map(|(role, weight)| v1::WeightInfo {
                weight,
                role: Some(role),
            })
            .collect()
    }

    /// Operator calls for quota, weights and roles; `None` for other calls.
    pub(super) fn allocator_operator_call(
        &mut self,
        ctx: &mut Context<Self>,
        call: &v1::master::Call,
        protobuf_out: bool,
    ) -> Option<Reply> {
        let t = call::Type::try_from(call.r#type?).ok()?;
        let answer = |r: v1::master::Response| -> Reply {
            if protobuf_out {
                use prost::Message;
                Response::ok(r.encode_to_vec())
                    .with_header("Content-Type", "application/x-protobuf")
                    .into()
            } else {
                Response::ok(mesos_protos::json::to_vec(&r))
                    .with_header("Content-Type", "application/json")
                    .into()
            }
        };
        let reply = match t {
            call::Type::GetQuota => answer(v1::master::Response {
                r#type: Some(response::Type::GetQuota as i32),
                get_quota: Some(response::GetQuota {
                    status: quota_status(&self.registrar.state().quotas),
                }),
                ..Default::default()
            }),
            call::Type::GetWeights => answer(v1::master::Response {
                r#type: Some(response::Type::GetWeights as i32),
                get_weights: Some(response::GetWeights {
                    weight_infos: self.get_weights(),
                }),
                ..Default::default()
            }),
            call::Type::SetQuota => match &call.set_quota {
                Some(s) => self.set_quota_request(ctx, s.quota_request.clone()),
                None => plain(400, "Expecting 'set_quota' to be present").into(),
            },
            call::Type::RemoveQuota => match &call.remove_quota {
                Some(r) => self.remove_quota_request(ctx, r.role.clone()),
                None => plain(400, "Expecting 'remove_quota' to be present").into(),
            },
            call::Type::UpdateQuota => match &call.update_quota {
                Some(u) => self.update_quota_request(
                    ctx,
                    u.force.unwrap_or(false),
                    u.quota_configs.clone(),
                ),
                None => plain(400, "Expecting 'update_quota' to be present").into(),
            },
            call::Type::UpdateWeights => match &call.update_weights {
                Some(u) => self.update_weights_request(ctx, u.weight_infos.clone()),
                None => plain(400, "Expecting 'update_weights' to be present").into(),
            },
            call::Type::GetRoles if !protobuf_out => {
                let weights = self.weights_in_force();
                let r = v1::master::Response {
                    r#type: Some(response::Type::GetRoles as i32),
                    get_roles: Some(crate::operator::get_roles(&self.state, &weights)),
                    ..Default::default()
                };
                let mut v = mesos_protos::json::to_value(&r);
                if let Some(roles) = v
                    .get_mut("get_roles")
                    .and_then(|g| g.get_mut("roles"))
                    .and_then(|r| r.as_array_mut())
                {
                    self.add_no_offer_reasons(roles);
                }
                Response::json(&v).into()
            }
            _ => return None,
        };
        Some(reply)
    }

    /// Legacy `/quota`: `GET`, `POST` (a QuotaRequest), `DELETE /quota/<role>`.
    pub(super) fn quota_route(&mut self, ctx: &mut Context<Self>, req: Request) -> Reply {
        if let Some(r) = self.not_leader("/quota") {
            return r.into();
        }
        let tail = req
            .route
            .strip_prefix("quota")
            .unwrap_or_default()
            .trim_matches('/')
            .to_string();
        match req.method.as_str() {
            "GET" if tail.is_empty() => {
                let status = quota_status(&self.registrar.state().quotas);
                Response::ok(mesos_protos::json::to_vec(&status))
                    .with_header("Content-Type", "application/json")
                    .into()
            }
            "POST" if tail.is_empty() => {
                match mesos_protos::json::from_slice::<QuotaRequest>(&req.body) {
                    Ok(q) => self.set_quota_request(ctx, q),
                    Err(e) => {
                        plain(400, format!("Failed to parse set quota request JSON: {e}")).into()
                    }
                }
            }
            "DELETE" => {
                let role = tail;
                if role.is_empty() {
                    return plain(
                        400,
                        format!(
                            "Failed to parse remove quota request for path '{}': expecting /quota/<role>",
                            req.path
                        ),
                    )
                    .into();
                }
                self.remove_quota_request(ctx, role)
            }
            _ => plain(
                405,
                format!(
                    "Expecting 'GET', 'POST' or 'DELETE', received '{}'",
                    req.method
                ),
            )
            .with_header("Allow", "GET, POST, DELETE")
            .into(),
        }
    }

    /// Legacy `/weights`: `GET` lists weights, `PUT` sets them from a JSON array.
    pub(super) fn weights_route(&mut self, ctx: &mut Context<Self>, req: Request) -> Reply {
        if let Some(r) = self.not_leader("/weights") {
            return r.into();
        }
        match req.method.as_str() {
            "GET" => {
                let list: Vec<serde_json::Value> = self
                    .get_weights()
                    .iter()
                    .map(mesos_protos::json::to_value)
                    .collect();
                Response::json(&serde_json::Value::Array(list)).into()
            }
            "PUT" => {
                let parsed: Result<Vec<v1::WeightInfo>, String> =
                    serde_json::from_slice::<Vec<serde_json::Value>>(&req.body)
                        .map_err(|e| e.to_string())
                        .and_then(|list| {
                            list.into_iter()
                                .map(|v| {
                                    mesos_protos::json::from_value::<v1::WeightInfo>(&v)
                                        .map_err(|e| e.to_string())
                                })
                                .collect()
                        });
                match parsed {
                    Ok(infos) => self.update_weights_request(ctx, infos),
                    Err(e) => plain(
                        400,
                        format!("Failed to parse update weights request JSON: {e}"),
                    )
                    .into(),
                }
            }
            _ => plain(
                405,
                format!("Expecting 'GET' or 'PUT', received '{}'", req.method),
            )
            .with_header("Allow", "GET, PUT")
            .into(),
        }
    }

    /// Adds our "why no offer" extension to rendered roles (`/roles`, GET_ROLES JSON):
    /// `no_offer_reasons: [{framework_id, reason}]` for frameworks of the role that got
    /// nothing in the allocator's last cycle, and `no_offer_reason` when none of the
    /// role's frameworks got anything (the most common reason among them).
    pub(super) fn add_no_offer_reasons(&self, roles: &mut [serde_json::Value]) {
        let snapshot = &self.allocator_snapshot;
        for role in roles.iter_mut() {
            let Some(name) = role.get("name").and_then(|n| n.as_str()).map(str::to_owned) else {
                continue;
            };
            let members: Vec<&str> = self
                .state
                .frameworks
                .values()
                .filter(|f| f.roles().contains(&name))
                .map(|f| f.id.as_str())
                .collect();
            let mut list = Vec::new();
            let mut counts: BTreeMap<&'static str, (usize, u8)> = BTreeMap::new();
            for (fid, r, why) in &snapshot.reasons {
                if *r != name || !members.contains(&fid.as_str()) {
                    continue;
                }
                list.push(serde_json::json!({"framework_id": fid, "reason": why.as_str()}));
                let e = counts.entry(why.as_str()).or_insert((0, why.rank()));
                e.0 += 1;
            }
            let Some(obj) = role.as_object_mut() else {
                continue;
            };
            if !members.is_empty() && list.len() == members.len() {
                if let Some((reason, _)) = counts.iter().max_by_key(|(_, (n, rank))| (*n, *rank)) {
                    obj.insert("no_offer_reason".into(), (*reason).into());
                }
            }
            if !list.is_empty() {
                obj.insert("no_offer_reasons".into(), serde_json::Value::Array(list));
            }
        }
    }

    /// `/roles` with the "why no offer" extension.
    pub(super) fn roles_with_reasons(&self, body: Vec<u8>) -> Vec<u8> {
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return body;
        };
        if let Some(roles) = v.get_mut("roles").and_then(|r| r.as_array_mut()) {
            self.add_no_offer_reasons(roles);
        }
        serde_json::to_vec(&v).unwrap_or(body)
    }
}
