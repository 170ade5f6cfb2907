//! Layout consistency of `addField:` / `removeField:`. A class's layout is its
//! superclass's fields followed by its own, and compiled methods address fields by
//! index, so a change to one class must not leave a subclass whose fields no longer
//! start with its superclass's: inherited methods would read and write the subclass's
//! own fields. Such a session fails at its end (`layout_failure`), naming the class; a
//! session may pass through an inconsistent state (remove a field, then insert a
//! superclass that declares it). A metaclass's new or removed field is applied to its
//! class object at once (class-side variables, matched by name).

use super::session::UpdateSession;
use crate::interpreter::Interp;
use crate::value::Value;

impl UpdateSession {
    /// After a field change of `meta` (a metaclass) whose layout was `old_layout`: gives
    /// its class object the new layout's slots, keeping the values of same-named ones (new
    /// ones nil). The caller saved the class object's shape first.
    pub(super) fn refit_class_object(app: &mut Interp, meta: Value, old_layout: &[Value]) {
        let this = app.space.class_info(meta).this_class;
        if !app.space.is_class(this) {
            return;
        }
        let nil = app.nil();
        let layout = app.space.class_info(meta).instance_fields.clone();
        let obj = app.space.heap.get_mut(this);
        let fields: Vec<Value> = layout
            .iter()
            .map(|f| {
                old_layout
                    .iter()
                    .position(|g| g == f)
                    .and_then(|i| obj.fields.get(i).copied())
                    .unwrap_or(nil)
            })
            .collect();
        obj.fields = fields.into_boxed_slice();
        app.space.sync_reflection(this);
    }

    /// Why this session cannot commit because of a class layout, if it cannot: some class
    /// (or metaclass) whose fields no longer start with its superclass's after the
    /// session's field changes. Checked only when the session changed a class's shape.
    pub fn layout_failure(&self, app: &Interp) -> Option<String> {
        if self.shapes_saved.is_empty() {
            return None;
        }
        let nil = app.nil();
        for i in 0..app.space.heap.table_len() {
            let class = Value::object(i as u32);
            if !app.space.heap.is_live(class) || !app.space.is_class(class) {
                continue;
            }
            let info = app.space.class_info(class);
            let superclass = info.superclass;
            if superclass == nil || !app.space.is_class(superclass) {
                continue;
            }
            let inherited = &app.space.class_info(superclass).instance_fields;
            if !info.instance_fields.starts_with(inherited) {
                let names = |fields: &[Value]| {
                    fields
                        .iter()
                        .map(|&f| app.space.str_of(f).unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                return Some(format!(
                    "{} would no longer extend the layout of its superclass {} (its fields: {}; {}'s: {}): its methods and instances depend on it. Create a new class for it (createClassNamed:superclass:fields:) and migrate its instances (migrateInstancesOf:to:), or change the fields in the class that declares them",
                    app.space.class_name(class),
                    app.space.class_name(superclass),
                    names(&info.instance_fields),
                    app.space.class_name(superclass),
                    names(inherited)
                ));
            }
        }
        None
    }
}
