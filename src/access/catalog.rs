//! Every permission weiops knows, grouped by domain. A later module adds its
//! permissions here; the admin role holds them all automatically, and the
//! role editor lists them by group. Names are localised under `perm.<code>`
//! and groups under `perm_group.<group>`.

/// A permission as a type, so a handler states what it needs in its
/// signature: `Need<UsersWrite>`.
pub trait Permission: Send + Sync + 'static {
    const CODE: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionDef {
    pub code: &'static str,
    pub group: &'static str,
}

macro_rules! permissions {
    ($( $ty:ident = $code:literal in $group:literal; )*) => {
        $(
            #[doc = concat!("The `", $code, "` permission.")]
            pub struct $ty;
            impl Permission for $ty {
                const CODE: &'static str = $code;
            }
        )*
        /// The whole catalogue, in display order.
        pub const PERMISSIONS: &[PermissionDef] = &[$(PermissionDef { code: $code, group: $group }),*];
    };
}

permissions! {
    UsersRead = "users.read" in "system";
    UsersWrite = "users.write" in "system";
    RolesRead = "roles.read" in "system";
    RolesWrite = "roles.write" in "system";
    AuditRead = "audit.read" in "system";
}

pub fn is_known(code: &str) -> bool {
    PERMISSIONS.iter().any(|p| p.code == code)
}

/// Groups in catalogue order with their permissions.
pub fn grouped() -> Vec<(&'static str, Vec<&'static PermissionDef>)> {
    let mut out: Vec<(&'static str, Vec<&'static PermissionDef>)> = Vec::new();
    for p in PERMISSIONS {
        match out.iter_mut().find(|(g, _)| *g == p.group) {
            Some((_, list)) => list.push(p),
            None => out.push((p.group, vec![p])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_dotted() {
        let mut codes: Vec<_> = PERMISSIONS.iter().map(|p| p.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), PERMISSIONS.len());
        assert!(PERMISSIONS.iter().all(|p| p.code.contains('.')));
    }
}
