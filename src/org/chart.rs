//! Server-side SVG drawings of the organisation: the department tree
//! ([`org_chart_svg`]) and the reporting lines between posts
//! ([`reporting_chart_svg`]).
//!
//! Both are pure functions from data to a standalone SVG document, so the same
//! string can be inlined in a page or downloaded as a file. The documents carry
//! no `<style>` and no `id` attributes: several drawings may sit in one page
//! and must neither leak CSS into it nor clash on ids.
//!
//! There is no font engine on the server, so text widths are estimated from
//! the characters (CJK as 1 em, Latin narrower) on the generous side; boxes are
//! sized from those estimates and over-long texts are cut with "…".

use std::collections::HashMap;
use std::fmt::{self, Write};

/// A department as the chart draws it.
pub struct ChartDepartment {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    /// The head's display name, if a head is set.
    pub head: Option<String>,
    pub positions: Vec<ChartPosition>,
    /// Draw this department without its sub-departments (folded on the page).
    pub collapsed: bool,
}

/// A post (position) as the charts draw it.
pub struct ChartPosition {
    pub id: i64,
    pub name: String,
    pub department_id: i64,
    pub department_name: String,
    /// Staff holding the post now.
    pub filled: i64,
    /// Planned headcount.
    pub planned: i64,
    pub reports_to: Option<i64>,
}

/// Texts the drawing shows, already in the page's language.
pub struct ChartLabels {
    /// e.g. "组织架构图"
    pub title: String,
    /// e.g. "负责人"
    pub head: String,
    /// e.g. "未设负责人"
    pub no_head: String,
    /// e.g. "在岗/编制"
    pub headcount: String,
    /// e.g. "已折叠 %{n} 个下级部门"; `%{n}` is replaced with the number.
    pub folded: String,
    /// e.g. "暂无部门"
    pub empty: String,
}

/// The department tree: each department a box with its name, head, and its
/// positions with filled/planned headcount ("2/3"); children below, drawn as a
/// tidy tree (parents centred over their children, no overlaps, siblings in
/// input order). Several roots are allowed (drawn side by side). A collapsed
/// department shows a small "+N" badge / the `folded` text instead of its
/// subtree. When `link` returns Some(url) for a department id, the department
/// box is wrapped in <a href="url"> (the page uses it to fold/unfold); the href
/// must be XML-escaped.
pub fn org_chart_svg(
    departments: &[ChartDepartment],
    labels: &ChartLabels,
    link: &dyn Fn(i64) -> Option<String>,
) -> String {
    if departments.is_empty() {
        return empty_svg(labels);
    }
    let tree = department_tree(departments, labels, link);
    let layout = layout(&tree, heading_width(&labels.title));
    render(&tree, &layout, &labels.title)
}

/// The reporting lines between posts: one box per position (name, its
/// department, filled/planned), each under the post it reports to, as a tidy
/// tree; posts reporting to nobody (or to a post not in the list) are roots.
/// Must not loop forever if the input accidentally contains a cycle: break it
/// and draw the rest.
pub fn reporting_chart_svg(positions: &[ChartPosition], labels: &ChartLabels) -> String {
    if positions.is_empty() {
        return empty_svg(labels);
    }
    let tree = reporting_tree(positions, labels);
    let layout = layout(&tree, heading_width(&labels.title));
    render(&tree, &layout, &labels.title)
}

// Element UI palette (the admin UI's look).
const PRIMARY: &str = "#409eff";
const TEXT: &str = "#303133";
const TEXT_REGULAR: &str = "#606266";
const MUTED: &str = "#909399";
const BORDER: &str = "#dcdfe6";
const DIVIDER: &str = "#ebeef5";
const CONNECTOR: &str = "#c0c4cc";
const HEADER_DARK: &str = "#304156";
const HEADER_LIGHT: &str = "#ecf5ff";
const HEADER_LIGHT_EDGE: &str = "#d9ecff";
const WARNING: &str = "#e6a23c";
const SUCCESS: &str = "#67c23a";
const DANGER: &str = "#f56c6c";
const FONT_FAMILY: &str = "'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif";

/// Blank space around the drawing.
const MARGIN: f64 = 24.0;
/// Top of the first tree level: room for the heading above it.
const FIRST_LEVEL_TOP: f64 = MARGIN + 48.0;
/// Horizontal gap between sibling boxes.
const SIBLING_GAP: f64 = 24.0;
/// Horizontal gap between boxes of different parents, a little wider so
/// families read as groups.
const COUSIN_GAP: f64 = 36.0;
/// Horizontal gap between separate trees.
const ROOT_GAP: f64 = 48.0;
/// Vertical gap between the tallest box of a level and the next level.
const LEVEL_GAP: f64 = 48.0;
/// Horizontal padding inside a box.
const PAD_X: f64 = 12.0;
/// Texts longer than this many ems (at their own font size) are cut.
const MAX_TEXT_EMS: f64 = 16.0;
const CORNER: f64 = 6.0;
/// The "+N" badge of a folded department hangs this far below its box.
const BADGE_HANG: f64 = 9.0;

const DEPT_MIN_WIDTH: f64 = 168.0;
const DEPT_HEADER_H: f64 = 34.0;
const ROW_H: f64 = 22.0;
const POST_MIN_WIDTH: f64 = 148.0;
const POST_HEADER_H: f64 = 52.0;
const POST_H: f64 = 84.0;

/// A box to draw: its size and its content in box-local coordinates.
struct Card {
    /// The department or position id (for tests and debugging).
    #[cfg_attr(not(test), allow(dead_code))]
    key: i64,
    w: f64,
    h: f64,
    /// SVG elements with the box's top-left corner at (0, 0).
    body: String,
    /// Full text for the hover tooltip (already cleaned, not escaped).
    tooltip: String,
    href: Option<String>,
}

/// The boxes to draw and who sits under whom, children in drawing order.
#[derive(Default)]
struct Tree {
    cards: Vec<Card>,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
}

impl Tree {
    fn push(&mut self, card: Card, parent: Option<usize>) -> usize {
        let id = self.cards.len();
        self.cards.push(card);
        self.children.push(Vec::new());
        match parent {
            Some(p) => self.children[p].push(id),
            None => self.roots.push(id),
        }
        id
    }
}

/// Where each box of a [`Tree`] goes.
struct Layout {
    /// Left edge of each box.
    left: Vec<f64>,
    /// Top edge of each box (the top of its level).
    top: Vec<f64>,
    depth: Vec<usize>,
    /// Top of each level.
    level_top: Vec<f64>,
    /// Height of each level (its tallest box).
    level_h: Vec<f64>,
    /// Boxes in pre-order (parents before children, siblings in order).
    order: Vec<usize>,
    width: f64,
    height: f64,
}

impl Layout {
    fn centre_x(&self, tree: &Tree, v: usize) -> f64 {
        self.left[v] + tree.cards[v].w / 2.0
    }
}

// ---------------------------------------------------------------------------
// Building the trees

fn department_tree(
    departments: &[ChartDepartment],
    labels: &ChartLabels,
    link: &dyn Fn(i64) -> Option<String>,
) -> Tree {
    let index = first_index(departments.iter().map(|d| d.id));
    let mut parent: Vec<Option<usize>> = departments
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.parent_id
                .and_then(|p| index.get(&p).copied())
                .filter(|&p| p != i)
        })
        .collect();
    break_cycles(&mut parent);
    let order = forest_preorder(&parent);

    // Sizes of the full subtrees, for the count a folded department shows.
    let mut size = vec![1usize; departments.len()];
    for &v in order.iter().rev() {
        if let Some(p) = parent[v] {
            size[p] += size[v];
        }
    }

    let mut tree = Tree::default();
    let mut drawn: Vec<Option<usize>> = vec![None; departments.len()];
    for &v in &order {
        let under = match parent[v] {
            None => None,
            Some(p) => match drawn[p] {
                Some(card) if !departments[p].collapsed => Some(card),
                _ => continue,
            },
        };
        let d = &departments[v];
        let hidden = if d.collapsed { size[v] - 1 } else { 0 };
        let card = department_card(d, labels, hidden, link(d.id));
        drawn[v] = Some(tree.push(card, under));
    }
    tree
}

fn reporting_tree(positions: &[ChartPosition], labels: &ChartLabels) -> Tree {
    let index = first_index(positions.iter().map(|p| p.id));
    let mut parent: Vec<Option<usize>> = positions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.reports_to
                .and_then(|r| index.get(&r).copied())
                .filter(|&r| r != i)
        })
        .collect();
    break_cycles(&mut parent);
    let mut tree = Tree::default();
    let mut drawn = vec![0usize; positions.len()];
    for v in forest_preorder(&parent) {
        let card = position_card(&positions[v], labels);
        drawn[v] = tree.push(card, parent[v].map(|p| drawn[p]));
    }
    tree
}

/// Id → index of its first occurrence; later duplicates are drawn but nothing
/// hangs under them.
fn first_index(ids: impl Iterator<Item = i64>) -> HashMap<i64, usize> {
    let mut index = HashMap::new();
    for (i, id) in ids.enumerate() {
        index.entry(id).or_insert(i);
    }
    index
}

/// Turns a parent table into a forest: in each cycle the member earliest in
/// the input loses its parent and becomes a root. Linear time.
fn break_cycles(parent: &mut [Option<usize>]) {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; parent.len()];
    let mut path = Vec::new();
    for start in 0..parent.len() {
        path.clear();
        let mut cur = start;
        loop {
            match state[cur] {
                DONE => break,
                ON_PATH => {
                    let from = path.iter().position(|&n| n == cur).unwrap_or(0);
                    if let Some(&first) = path[from..].iter().min() {
                        parent[first] = None;
                    }
                    break;
                }
                _ => {}
            }
            state[cur] = ON_PATH;
            path.push(cur);
            match parent[cur] {
                Some(p) => cur = p,
                None => break,
            }
        }
        for &n in &path {
            state[n] = DONE;
        }
    }
}

/// Pre-order of an acyclic parent table: roots and siblings in input order.
fn forest_preorder(parent: &[Option<usize>]) -> Vec<usize> {
    let mut children = vec![Vec::new(); parent.len()];
    let mut roots = Vec::new();
    for (v, p) in parent.iter().enumerate() {
        match p {
            Some(p) => children[*p].push(v),
            None => roots.push(v),
        }
    }
    preorder(&children, &roots)
}

/// Iterative, so a very deep tree cannot overflow the stack.
fn preorder(children: &[Vec<usize>], roots: &[usize]) -> Vec<usize> {
    let mut order = Vec::with_capacity(children.len());
    let mut stack: Vec<usize> = roots.iter().rev().copied().collect();
    while let Some(v) = stack.pop() {
        order.push(v);
        stack.extend(children[v].iter().rev());
    }
    order
}

// ---------------------------------------------------------------------------
// Boxes

fn department_card(
    d: &ChartDepartment,
    labels: &ChartLabels,
    hidden: usize,
    href: Option<String>,
) -> Card {
    let name = clean(&d.name);
    let (title, _) = fit(&name, 14.0, true);
    let head = d.head.as_deref().map(clean).filter(|h| !h.is_empty());
    let head_label = clean(&labels.head);
    let no_head = clean(&labels.no_head);
    let caption = clean(&labels.headcount);
    let folded = clean(&labels.folded.replace("%{n}", &hidden.to_string()));

    struct Row {
        name: String,
        full: Option<String>,
        count: String,
        colour: &'static str,
    }
    let rows: Vec<Row> = d
        .positions
        .iter()
        .map(|p| {
            let full = clean(&p.name);
            let (name, cut) = fit(&full, 12.0, false);
            Row {
                name,
                full: cut.then_some(full),
                count: format!("{}/{}", p.filled, p.planned),
                colour: headcount_colour(p.filled, p.planned),
            }
        })
        .collect();
    let head_text = head.as_deref().map(|h| fit(h, 12.0, false).0);

    // Width: the widest line plus padding.
    let mut inner = text_width(&title, 14.0, true);
    inner = inner.max(match &head_text {
        Some(h) => text_width(&head_label, 12.0, false) + 6.0 + text_width(h, 12.0, false),
        None => text_width(&no_head, 12.0, false),
    });
    if !rows.is_empty() {
        inner = inner.max(text_width(&caption, 11.0, false));
    }
    for r in &rows {
        inner =
            inner.max(text_width(&r.name, 12.0, false) + 16.0 + text_width(&r.count, 12.0, true));
    }
    if hidden > 0 {
        inner = inner.max(text_width(&folded, 11.0, false));
    }
    let w = even_ceil((inner + 2.0 * PAD_X).max(DEPT_MIN_WIDTH));

    // Content, top to bottom.
    let mut body = String::new();
    let right = w - PAD_X;
    let mut y = DEPT_HEADER_H + 6.0;
    let mut rows_svg = String::new();
    let _ = match &head_text {
        Some(h) => write!(
            rows_svg,
            r#"<text x="{}" y="{}"><tspan fill="{MUTED}">{}</tspan><tspan dx="6" fill="{TEXT}">{}</tspan></text>"#,
            N(PAD_X),
            N(y + 15.0),
            Esc(&head_label),
            Esc(h)
        ),
        None => write!(
            rows_svg,
            r#"<text x="{}" y="{}" fill="{MUTED}">{}</text>"#,
            N(PAD_X),
            N(y + 15.0),
            Esc(&no_head)
        ),
    };
    y += ROW_H;
    if !rows.is_empty() {
        y += 4.0;
        let _ = write!(
            rows_svg,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{DIVIDER}"/><text x="{}" y="{}" text-anchor="end" font-size="11" fill="{MUTED}">{}</text>"#,
            N(PAD_X),
            N(y),
            N(right),
            N(y),
            N(right),
            N(y + 16.0),
            Esc(&caption)
        );
        y += 20.0;
        for r in &rows {
            let open = match &r.full {
                Some(full) => format!("<g><title>{}</title>", Esc(full)),
                None => String::new(),
            };
            let _ = write!(
                rows_svg,
                r#"{open}<text x="{}" y="{}" fill="{TEXT_REGULAR}">{}</text><text x="{}" y="{}" text-anchor="end" font-weight="bold" fill="{}">{}</text>{}"#,
                N(PAD_X),
                N(y + 15.0),
                Esc(&r.name),
                N(right),
                N(y + 15.0),
                r.colour,
                Esc(&r.count),
                if open.is_empty() { "" } else { "</g>" }
            );
            y += ROW_H;
        }
    }
    if hidden > 0 {
        y += 2.0;
        let _ = write!(
            rows_svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{MUTED}">{}</text>"#,
            N(w / 2.0),
            N(y + 14.0),
            Esc(&folded)
        );
        y += 20.0;
    }
    let h = y + if hidden > 0 { 12.0 } else { 8.0 };

    let _ = write!(
        body,
        r##"<rect width="{}" height="{}" rx="{CORNER}" fill="#ffffff" stroke="{BORDER}"/>"##,
        N(w),
        N(h)
    );
    body.push_str(&header_path(w, DEPT_HEADER_H, HEADER_DARK));
    let _ = write!(
        body,
        r##"<text x="{}" y="22" font-size="14" font-weight="bold" fill="#ffffff">{}</text>"##,
        N(PAD_X),
        Esc(&title)
    );
    body.push_str(&rows_svg);
    if hidden > 0 {
        let badge = format!("+{hidden}");
        let bw = even_ceil(text_width(&badge, 11.0, true) + 16.0).max(28.0);
        let _ = write!(
            body,
            r##"<rect x="{}" y="{}" width="{}" height="18" rx="9" fill="{PRIMARY}" stroke="#ffffff"/><text x="{}" y="{}" text-anchor="middle" font-size="11" font-weight="bold" fill="#ffffff">{}</text>"##,
            N((w - bw) / 2.0),
            N(h - BADGE_HANG),
            N(bw),
            N(w / 2.0),
            N(h + 4.0),
            Esc(&badge)
        );
    }

    Card {
        key: d.id,
        w,
        h,
        body,
        tooltip: name,
        href,
    }
}

fn position_card(p: &ChartPosition, labels: &ChartLabels) -> Card {
    let name = clean(&p.name);
    let (title, _) = fit(&name, 14.0, true);
    let department = clean(&p.department_name);
    let (dept_text, _) = fit(&department, 12.0, false);
    let caption = clean(&labels.headcount);
    let count = format!("{}/{}", p.filled, p.planned);

    let inner = text_width(&title, 14.0, true)
        .max(text_width(&dept_text, 12.0, false))
        .max(text_width(&caption, 11.0, false) + 16.0 + text_width(&count, 13.0, true));
    let w = even_ceil((inner + 2.0 * PAD_X).max(POST_MIN_WIDTH));
    let h = POST_H;

    let mut body = String::new();
    let _ = write!(
        body,
        r##"<rect width="{}" height="{}" rx="{CORNER}" fill="#ffffff" stroke="{BORDER}"/>"##,
        N(w),
        N(h)
    );
    body.push_str(&header_path(w, POST_HEADER_H, HEADER_LIGHT));
    let _ = write!(
        body,
        r#"<line x1="0" y1="{hh}" x2="{}" y2="{hh}" stroke="{HEADER_LIGHT_EDGE}"/><text x="{}" y="23" font-size="14" font-weight="bold" fill="{TEXT}">{}</text><text x="{}" y="42" fill="{MUTED}">{}</text><text x="{}" y="{}" font-size="11" fill="{MUTED}">{}</text><text x="{}" y="{}" text-anchor="end" font-size="13" font-weight="bold" fill="{}">{}</text>"#,
        N(w),
        N(PAD_X),
        Esc(&title),
        N(PAD_X),
        Esc(&dept_text),
        N(PAD_X),
        N(POST_HEADER_H + 21.0),
        Esc(&caption),
        N(w - PAD_X),
        N(POST_HEADER_H + 21.0),
        headcount_colour(p.filled, p.planned),
        Esc(&count),
        hh = N(POST_HEADER_H),
    );
    let tooltip = if department.is_empty() {
        name
    } else {
        format!("{name} · {department}")
    };
    Card {
        key: p.id,
        w,
        h,
        body,
        tooltip,
        href: None,
    }
}

/// A header band whose top corners follow the box's rounded corners.
fn header_path(w: f64, h: f64, fill: &str) -> String {
    format!(
        r#"<path d="M0 {h}V{c}A{c} {c} 0 0 1 {c} 0H{}A{c} {c} 0 0 1 {} {c}V{h}Z" fill="{fill}"/>"#,
        N(w - CORNER),
        N(w),
        h = N(h),
        c = N(CORNER),
    )
}

fn headcount_colour(filled: i64, planned: i64) -> &'static str {
    match filled.cmp(&planned) {
        std::cmp::Ordering::Less => WARNING,
        std::cmp::Ordering::Equal => SUCCESS,
        std::cmp::Ordering::Greater => DANGER,
    }
}

// ---------------------------------------------------------------------------
// Layout

/// A tidy tree in the Reingold–Tilford manner, level by level: each subtree
/// keeps its contour (leftmost and rightmost edge per depth, relative to its
/// root's centre); siblings are pushed right just far enough to clear the
/// contours before them, and a parent is centred over its first and last
/// child. Cost is the sum of subtree heights, fine for thousands of boxes.
fn layout(tree: &Tree, min_content_width: f64) -> Layout {
    let n = tree.cards.len();
    let order = preorder(&tree.children, &tree.roots);
    let mut depth = vec![0usize; n];
    for &v in &order {
        for &c in &tree.children[v] {
            depth[c] = depth[v] + 1;
        }
    }

    let mut contour: Vec<Vec<(f64, f64)>> = vec![Vec::new(); n];
    // Each box's centre relative to its parent's centre.
    let mut rel = vec![0.0f64; n];
    for &v in order.iter().rev() {
        let half = tree.cards[v].w / 2.0;
        let kids = &tree.children[v];
        if kids.is_empty() {
            contour[v] = vec![(-half, half)];
            continue;
        }
        let (offsets, merged) = pack(kids, &mut contour, SIBLING_GAP);
        let centre = (offsets[0] + offsets[offsets.len() - 1]) / 2.0;
        for (&c, off) in kids.iter().zip(&offsets) {
            rel[c] = off - centre;
        }
        let mut own = Vec::with_capacity(merged.len() + 1);
        own.push((-half, half));
        own.extend(merged.iter().map(|&(l, r)| (l - centre, r - centre)));
        contour[v] = own;
    }
    let (offsets, merged) = pack(&tree.roots, &mut contour, ROOT_GAP);
    let min_left = merged.iter().map(|e| e.0).fold(f64::INFINITY, f64::min);
    let max_right = merged.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
    let shift = MARGIN - min_left;

    let mut centre = vec![0.0f64; n];
    for (&r, off) in tree.roots.iter().zip(&offsets) {
        centre[r] = off + shift;
    }
    for &v in &order {
        for &c in &tree.children[v] {
            centre[c] = centre[v] + rel[c];
        }
    }

    let levels = depth.iter().max().map_or(0, |d| d + 1);
    let mut level_h = vec![0.0f64; levels];
    for (v, card) in tree.cards.iter().enumerate() {
        level_h[depth[v]] = level_h[depth[v]].max(card.h);
    }
    let mut level_top = Vec::with_capacity(levels);
    let mut y = FIRST_LEVEL_TOP;
    for h in &level_h {
        level_top.push(y);
        y += h + LEVEL_GAP;
    }
    let bottom = y - LEVEL_GAP;

    let left = (0..n).map(|v| centre[v] - tree.cards[v].w / 2.0).collect();
    let top = depth.iter().map(|&d| level_top[d]).collect();
    let content_w = (max_right + shift + MARGIN).max(min_content_width);
    Layout {
        left,
        top,
        depth,
        level_top,
        level_h,
        order,
        width: content_w.ceil(),
        height: (bottom + BADGE_HANG + MARGIN).ceil(),
    }
}

/// Places subtrees left to right, each as close to the previous ones as their
/// contours allow. Returns each subtree's offset (of its root centre) and the
/// merged contour. Takes the contours out of `contour`.
fn pack(items: &[usize], contour: &mut [Vec<(f64, f64)>], gap: f64) -> (Vec<f64>, Vec<(f64, f64)>) {
    let mut offsets = Vec::with_capacity(items.len());
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for &c in items {
        let own = std::mem::take(&mut contour[c]);
        let offset = if merged.is_empty() {
            0.0
        } else {
            merged
                .iter()
                .zip(&own)
                .enumerate()
                .map(|(d, (prev, next))| {
                    let gap = if d == 0 { gap } else { gap.max(COUSIN_GAP) };
                    prev.1 + gap - next.0
                })
                .fold(f64::NEG_INFINITY, f64::max)
        };
        for (d, &(l, r)) in own.iter().enumerate() {
            let (l, r) = (l + offset, r + offset);
            match merged.get_mut(d) {
                Some(e) => {
                    e.0 = e.0.min(l);
                    e.1 = e.1.max(r);
                }
                None => merged.push((l, r)),
            }
        }
        offsets.push(offset);
    }
    (offsets, merged)
}

// ---------------------------------------------------------------------------
// Output

fn render(tree: &Tree, layout: &Layout, title: &str) -> String {
    let title = clean(title);
    let mut svg = String::with_capacity(2048 + tree.cards.len() * 1024);
    open_svg(&mut svg, layout.width, layout.height, &title);
    heading(&mut svg, &title);

    // Connectors first, so boxes cover their ends.
    let _ = write!(
        svg,
        r#"<g fill="none" stroke="{CONNECTOR}" stroke-width="1.5" stroke-linejoin="round">"#
    );
    for &v in &layout.order {
        let kids = &tree.children[v];
        if kids.is_empty() {
            continue;
        }
        let d = layout.depth[v];
        let px = layout.centre_x(tree, v);
        let mid = layout.level_top[d] + layout.level_h[d] + LEVEL_GAP / 2.0;
        let _ = write!(
            svg,
            r#"<path d="M{} {}V{}"#,
            N(px),
            N(layout.top[v] + tree.cards[v].h),
            N(mid)
        );
        let first = layout.centre_x(tree, kids[0]);
        let last = layout.centre_x(tree, kids[kids.len() - 1]);
        if N(first).to_string() != N(last).to_string() {
            let _ = write!(svg, "M{} {}H{}", N(first), N(mid), N(last));
        }
        for &c in kids {
            let _ = write!(
                svg,
                "M{} {}V{}",
                N(layout.centre_x(tree, c)),
                N(mid),
                N(layout.top[c])
            );
        }
        svg.push_str(r#""/>"#);
    }
    svg.push_str("</g>");

    for &v in &layout.order {
        let card = &tree.cards[v];
        if let Some(href) = &card.href {
            let _ = write!(svg, r#"<a href="{}">"#, Esc(&clean(href)));
        }
        let _ = write!(
            svg,
            r#"<g transform="translate({} {})"><title>{}</title>{}</g>"#,
            N(layout.left[v]),
            N(layout.top[v]),
            Esc(&card.tooltip),
            card.body
        );
        if card.href.is_some() {
            svg.push_str("</a>");
        }
    }
    svg.push_str("</svg>");
    svg
}

fn empty_svg(labels: &ChartLabels) -> String {
    let title = clean(&labels.title);
    let empty = clean(&labels.empty);
    let box_w = even_ceil(text_width(&empty, 13.0, false) + 64.0).max(200.0);
    let width = (box_w + 2.0 * MARGIN)
        .max(heading_width(&labels.title))
        .ceil();
    let height = FIRST_LEVEL_TOP + 80.0 + MARGIN;
    let mut svg = String::new();
    open_svg(&mut svg, width, height, &title);
    heading(&mut svg, &title);
    let _ = write!(
        svg,
        r##"<rect x="{}" y="{}" width="{}" height="80" rx="{CORNER}" fill="#ffffff" stroke="{BORDER}" stroke-dasharray="4 3"/><text x="{}" y="{}" text-anchor="middle" font-size="13" fill="{MUTED}">{}</text></svg>"##,
        N(MARGIN),
        N(FIRST_LEVEL_TOP),
        N(box_w),
        N(MARGIN + box_w / 2.0),
        N(FIRST_LEVEL_TOP + 45.0),
        Esc(&empty)
    );
    svg
}

fn open_svg(svg: &mut String, width: f64, height: f64, title: &str) {
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" font-family="{FONT_FAMILY}" font-size="12"><title>{t}</title><rect width="{w}" height="{h}" fill="#ffffff"/>"##,
        w = N(width),
        h = N(height),
        t = Esc(title),
    );
}

/// The visible title above the tree, with an accent bar as in the admin UI.
fn heading(svg: &mut String, title: &str) {
    let (text, _) = fit(title, 18.0, true);
    let _ = write!(
        svg,
        r#"<rect x="{}" y="{}" width="4" height="18" rx="2" fill="{PRIMARY}"/><text x="{}" y="{}" font-size="18" font-weight="bold" fill="{TEXT}">{}</text>"#,
        N(MARGIN),
        N(MARGIN + 2.0),
        N(MARGIN + 12.0),
        N(MARGIN + 17.0),
        Esc(&text)
    );
}

fn heading_width(title: &str) -> f64 {
    let (text, _) = fit(&clean(title), 18.0, true);
    MARGIN + 12.0 + text_width(&text, 18.0, true) + MARGIN
}

// ---------------------------------------------------------------------------
// Text

/// Estimated advance of a character in ems, erring wide: CJK and full-width
/// forms are 1 em, Latin about 0.55 em with the usual narrow and wide letters.
fn char_em(c: char) -> f64 {
    match c {
        ' ' | 'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | '`' => 0.3,
        'f' | 'r' | 't' | 'I' | '(' | ')' | '[' | ']' | '{' | '}' | '/' | '\\' | '-' | '"' => 0.42,
        'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.9,
        'A'..='Z' => 0.7,
        '\0'..='\x7f' => 0.58,
        '\u{300}'..='\u{36f}' | '\u{200b}'..='\u{200f}' | '\u{fe00}'..='\u{fe0f}' => 0.0,
        _ if is_wide(c) => 1.0,
        _ => 0.7,
    }
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115f
        | 0x2010..=0x206f // dashes, quotes, "…": full width in CJK fonts
        | 0x2e80..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f000..=0x1faff
        | 0x20000..=0x3fffd)
}

fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let ems: f64 = text.chars().map(char_em).sum();
    ems * size * if bold { 1.05 } else { 1.0 }
}

/// Cuts `text` with "…" so it stays within [`MAX_TEXT_EMS`]; says whether it cut.
fn fit(text: &str, size: f64, bold: bool) -> (String, bool) {
    let max = MAX_TEXT_EMS * size;
    if text_width(text, size, bold) <= max {
        return (text.to_owned(), false);
    }
    let budget = max - text_width("…", size, bold);
    let mut used = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), size, bold);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    let out = out.trim_end().to_owned() + "…";
    (out, true)
}

/// One line of text with what XML 1.0 cannot carry removed: control
/// characters become spaces, the two non-characters are dropped.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| c != '\u{fffe}' && c != '\u{ffff}')
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn even_ceil(x: f64) -> f64 {
    (x / 2.0).ceil() * 2.0
}

/// XML-escapes text for element content and attribute values.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&apos;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// A coordinate printed with at most one decimal ("12", "12.5", never "-0").
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.0 * 10.0).round() as i64;
        let (int, frac) = (tenths / 10, (tenths % 10).abs());
        if tenths < 0 && int == 0 {
            f.write_str("-")?;
        }
        if frac == 0 {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{frac}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> ChartLabels {
        ChartLabels {
            title: "组织架构图".into(),
            head: "负责人".into(),
            no_head: "未设负责人".into(),
            headcount: "在岗/编制".into(),
            folded: "已折叠 %{n} 个下级部门".into(),
            empty: "暂无部门".into(),
        }
    }

    fn dept(id: i64, parent: Option<i64>, name: &str) -> ChartDepartment {
        ChartDepartment {
            id,
            parent_id: parent,
            name: name.into(),
            head: None,
            positions: Vec::new(),
            collapsed: false,
        }
    }

    fn post(
        id: i64,
        dept: &ChartDepartment,
        name: &str,
        filled: i64,
        planned: i64,
    ) -> ChartPosition {
        ChartPosition {
            id,
            name: name.into(),
            department_id: dept.id,
            department_name: dept.name.clone(),
            filled,
            planned,
            reports_to: None,
        }
    }

    fn no_link(_: i64) -> Option<String> {
        None
    }

    /// The 微商 company used by several tests and the sample pictures.
    fn company() -> Vec<ChartDepartment> {
        let mut ds = vec![
            dept(1, None, "总经办"),
            dept(2, Some(1), "运营中心"),
            dept(3, Some(1), "市场部"),
            dept(4, Some(1), "内容部"),
            dept(5, Some(1), "培训部"),
            dept(6, Some(1), "销售部"),
            dept(7, Some(1), "财务部"),
            dept(8, Some(1), "仓储物流部"),
            dept(9, Some(1), "客服部"),
            dept(10, Some(6), "华东大区"),
            dept(11, Some(6), "华南大区"),
        ];
        ds[0].head = Some("王总".into());
        ds[1].head = Some("李娜".into());
        ds[2].head = Some("陈晓明 (Kevin Chen)".into());
        ds[3].head = Some("赵敏".into());
        ds[5].head = Some("刘强".into());
        ds[8].head = Some("孙丽".into());
        let p = |id, d: &ChartDepartment, n: &str, f, pl| post(id, d, n, f, pl);
        let posts = vec![
            (
                0,
                vec![
                    p(100, &ds[0], "总经理", 1, 1),
                    p(101, &ds[0], "总经理助理", 0, 1),
                ],
            ),
            (
                1,
                vec![
                    p(102, &ds[1], "操盘手", 2, 2),
                    p(103, &ds[1], "社群运营", 3, 4),
                ],
            ),
            (
                2,
                vec![
                    p(104, &ds[2], "推广员", 2, 3),
                    p(105, &ds[2], "招商经理", 1, 1),
                ],
            ),
            (
                3,
                vec![
                    p(106, &ds[3], "文案", 2, 2),
                    p(107, &ds[3], "设计", 2, 1),
                    p(108, &ds[3], "后期剪辑", 1, 2),
                ],
            ),
            (4, vec![p(109, &ds[4], "代理培训讲师", 1, 2)]),
            (5, vec![p(110, &ds[5], "销售主管", 2, 2)]),
            (
                6,
                vec![p(111, &ds[6], "会计", 1, 1), p(112, &ds[6], "出纳", 1, 1)],
            ),
            (
                7,
                vec![
                    p(113, &ds[7], "仓管员", 3, 3),
                    p(114, &ds[7], "发货员", 5, 4),
                ],
            ),
            (
                8,
                vec![
                    p(115, &ds[8], "售后客服", 4, 6),
                    p(116, &ds[8], "售前客服", 3, 3),
                ],
            ),
            (9, vec![p(117, &ds[9], "区域经理", 1, 1)]),
            (10, vec![p(118, &ds[10], "区域经理", 0, 1)]),
        ];
        for (i, ps) in posts {
            ds[i].positions = ps;
        }
        ds
    }

    fn company_posts() -> Vec<ChartPosition> {
        let mut posts: Vec<ChartPosition> =
            company().into_iter().flat_map(|d| d.positions).collect();
        let boss = 100;
        let reports = [
            (101, boss),
            (102, boss),
            (103, 102),
            (104, 105),
            (105, boss),
            (106, 102),
            (107, 102),
            (108, 102),
            (109, boss),
            (110, boss),
            (111, boss),
            (112, 111),
            (113, boss),
            (114, 113),
            (115, 102),
            (116, 102),
            (117, 110),
            (118, 110),
        ];
        for (id, to) in reports {
            posts.iter_mut().find(|p| p.id == id).unwrap().reports_to = Some(to);
        }
        posts
    }

    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
        doc.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .map(str::to_owned)
            .collect()
    }

    fn has_text(svg: &str, needle: &str) -> bool {
        texts(svg).iter().any(|t| t == needle)
    }

    /// A pseudo-random tree of `n` departments (fixed seed, no dependency).
    fn big_company(n: i64) -> Vec<ChartDepartment> {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..n)
            .map(|i| {
                let parent = if i == 0 {
                    None
                } else {
                    Some((next() % i as u64) as i64)
                };
                let mut d = dept(i, parent, &format!("部门{i}"));
                for k in 0..(next() % 4) as i64 {
                    let p = post(i * 10 + k, &d, &format!("岗位{k}"), k, 2);
                    d.positions.push(p);
                }
                if next() % 3 == 0 {
                    d.head = Some(format!("负责人{i}"));
                }
                d
            })
            .collect()
    }

    fn assert_tidy(tree: &Tree, layout: &Layout) {
        let n = tree.cards.len();
        // No two boxes overlap (sorted sweep per level keeps this cheap).
        let mut by_level: Vec<Vec<usize>> = vec![Vec::new(); layout.level_top.len()];
        for v in 0..n {
            by_level[layout.depth[v]].push(v);
        }
        for level in &mut by_level {
            level.sort_by(|&a, &b| layout.left[a].total_cmp(&layout.left[b]));
            for pair in level.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                assert!(
                    layout.left[a] + tree.cards[a].w + SIBLING_GAP - 0.01 <= layout.left[b],
                    "boxes {} and {} overlap or touch",
                    tree.cards[a].key,
                    tree.cards[b].key
                );
            }
        }
        for v in 0..n {
            let bottom = layout.top[v] + tree.cards[v].h;
            assert!(bottom <= layout.level_top[layout.depth[v]] + layout.level_h[layout.depth[v]]);
            assert!(layout.left[v] >= MARGIN - 0.01);
            assert!(layout.left[v] + tree.cards[v].w <= layout.width - MARGIN + 0.01);
            assert!(bottom + BADGE_HANG <= layout.height - MARGIN + 0.01);
            let kids = &tree.children[v];
            if let (Some(&first), Some(&last)) = (kids.first(), kids.last()) {
                let expected = (layout.centre_x(tree, first) + layout.centre_x(tree, last)) / 2.0;
                assert!(
                    (layout.centre_x(tree, v) - expected).abs() < 1e-6,
                    "parent not centred"
                );
                // Siblings in input order, left to right.
                for pair in kids.windows(2) {
                    assert!(layout.left[pair[0]] < layout.left[pair[1]]);
                }
                for &c in kids {
                    assert!(layout.top[c] >= bottom + LEVEL_GAP);
                }
            }
        }
    }

    #[test]
    fn document_is_standalone_svg_with_title_and_size() {
        let svg = org_chart_svg(&company(), &labels(), &no_link);
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" "#));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        assert_eq!(root.attribute("aria-label"), Some("组织架构图"));
        assert_eq!(
            root.attribute("font-family"),
            Some("'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif")
        );
        let (w, h) = (
            root.attribute("width").unwrap(),
            root.attribute("height").unwrap(),
        );
        assert_eq!(
            root.attribute("viewBox"),
            Some(format!("0 0 {w} {h}").as_str())
        );
        let title = root.first_element_child().unwrap();
        assert_eq!(title.tag_name().name(), "title");
        assert_eq!(title.text(), Some("组织架构图"));
        assert!(w.parse::<u32>().unwrap() > 500 && h.parse::<u32>().unwrap() > 200);
    }

    #[test]
    fn every_department_and_position_name_appears() {
        let ds = company();
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        for d in &ds {
            assert!(has_text(&svg, &d.name), "{}", d.name);
            for p in &d.positions {
                assert!(has_text(&svg, &p.name), "{}", p.name);
                assert!(has_text(&svg, &format!("{}/{}", p.filled, p.planned)));
            }
        }
        assert!(has_text(&svg, "王总"));
        assert!(has_text(&svg, "负责人"));
        assert!(has_text(&svg, "未设负责人"), "培训部 has no head");
        assert!(has_text(&svg, "在岗/编制"));
    }

    #[test]
    fn user_text_is_escaped_and_round_trips() {
        let nasty = r#"A<&>"'B"#;
        let mut ds = vec![dept(1, None, nasty)];
        ds[0].head = Some(nasty.into());
        let p = post(9, &ds[0], nasty, 1, 1);
        ds[0].positions.push(p);
        let mut l = labels();
        l.title = nasty.into();
        let svg = org_chart_svg(&ds, &l, &|id| Some(format!("/org?fold={id}&x=\"<'>\"")));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(doc.root_element().attribute("aria-label"), Some(nasty));
        assert!(texts(&svg).iter().filter(|t| *t == nasty).count() >= 4);
        let a = doc.descendants().find(|n| n.has_tag_name("a")).unwrap();
        assert_eq!(a.attribute("href"), Some("/org?fold=1&x=\"<'>\""));

        let mut p = post(1, &ds[0], nasty, 0, 1);
        p.department_name = nasty.into();
        let svg = reporting_chart_svg(&[p], &l);
        assert!(texts(&svg).iter().filter(|t| *t == nasty).count() >= 3);
    }

    #[test]
    fn control_characters_do_not_break_the_document() {
        let ds = vec![dept(1, None, "a\u{0}b\u{1b}c\u{ffff}\nd")];
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        assert!(has_text(&svg, "a b c d"));
    }

    #[test]
    fn link_wraps_the_department_box() {
        let ds = company();
        let svg = org_chart_svg(&ds, &labels(), &|id| {
            (id == 4).then(|| "/system/org?fold=4".to_owned())
        });
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let links: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("a")).collect();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].attribute("href"), Some("/system/org?fold=4"));
        let inside: Vec<_> = links[0].descendants().filter_map(|n| n.text()).collect();
        assert!(inside.contains(&"内容部"));
        assert!(inside.contains(&"后期剪辑"));
    }

    #[test]
    fn collapsed_department_hides_its_subtree_and_shows_a_badge() {
        let mut ds = company();
        ds.push(dept(12, Some(10), "上海办事处"));
        ds[5].collapsed = true; // 销售部: 华东大区 (with 上海办事处), 华南大区
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        for hidden in ["华东大区", "华南大区", "上海办事处"] {
            assert!(!svg.contains(hidden), "{hidden} should be folded away");
        }
        assert!(has_text(&svg, "销售部"));
        assert!(has_text(&svg, "销售主管"));
        assert!(has_text(&svg, "+3"));
        assert!(has_text(&svg, "已折叠 3 个下级部门"));
        // A collapsed department without children shows no badge.
        ds[5].collapsed = false;
        ds[6].collapsed = true;
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        assert!(has_text(&svg, "华东大区"));
        assert!(!svg.contains("已折叠"));
    }

    #[test]
    fn company_layout_is_tidy() {
        let ds = company();
        let tree = department_tree(&ds, &labels(), &no_link);
        let layout = layout(&tree, 0.0);
        assert_eq!(tree.cards.len(), ds.len());
        assert_tidy(&tree, &layout);
        // Variable heights: a level is as tall as its tallest box.
        let tallest = tree.cards.iter().map(|c| c.h).fold(0.0, f64::max);
        assert!(layout.level_h.contains(&tallest));
    }

    #[test]
    fn three_hundred_departments_render_tidily() {
        let ds = big_company(300);
        let tree = department_tree(&ds, &labels(), &no_link);
        let layout = layout(&tree, 0.0);
        assert_eq!(tree.cards.len(), 300);
        assert_tidy(&tree, &layout);
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        assert!(has_text(&svg, "部门299"));
        assert_eq!(
            texts(&svg).iter().filter(|t| t.starts_with("部门")).count(),
            300 * 2
        );

        // A deep chain renders without recursion trouble.
        let chain: Vec<_> = (0..2000)
            .map(|i| dept(i, (i > 0).then(|| i - 1), "链"))
            .collect();
        let tree = department_tree(&chain, &labels(), &no_link);
        assert_tidy(&tree, &layout_of(&tree));
    }

    fn layout_of(tree: &Tree) -> Layout {
        layout(tree, 0.0)
    }

    #[test]
    fn department_with_forty_positions_grows_tall_and_fits_its_text() {
        let mut d = dept(1, None, "客服中心");
        for k in 0..40 {
            let p = post(
                k,
                &d,
                &format!("客服专员{k} Customer Service Rep"),
                k % 3,
                1,
            );
            d.positions.push(p);
        }
        let ds = vec![d];
        let tree = department_tree(&ds, &labels(), &no_link);
        let card = &tree.cards[0];
        assert!(card.h > 40.0 * ROW_H);
        let widest = ds[0]
            .positions
            .iter()
            .map(|p| {
                text_width(&fit(&p.name, 12.0, false).0, 12.0, false)
                    + 16.0
                    + text_width("2/1", 12.0, true)
            })
            .fold(0.0, f64::max);
        assert!(card.w >= widest + 2.0 * PAD_X);
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        assert!(has_text(&svg, "客服专员39 Customer Service Rep"));
    }

    #[test]
    fn long_names_are_cut_with_the_full_name_as_tooltip() {
        let long = "华东华南华北华中西南西北东北大区联合渠道拓展与代理商赋能培训中心";
        let ds = vec![dept(1, None, long)];
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        let all = texts(&svg);
        let cut = all.iter().find(|t| t.ends_with('…')).expect("a cut name");
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert!(text_width(cut, 14.0, true) <= MAX_TEXT_EMS * 14.0);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let tip = doc
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .find(|n| n.text() == Some(long))
            .expect("tooltip");
        assert_eq!(tip.parent().unwrap().tag_name().name(), "g");
        let tree = department_tree(&ds, &labels(), &no_link);
        assert!(tree.cards[0].w <= (MAX_TEXT_EMS * 14.0 * 1.05 + 2.0 * PAD_X).ceil() + 2.0);
    }

    #[test]
    fn headcount_colours() {
        let d = dept(1, None, "市场部");
        let svg = reporting_chart_svg(
            &[
                post(1, &d, "推广员", 2, 3),
                post(2, &d, "文案", 3, 3),
                post(3, &d, "设计", 4, 3),
            ],
            &labels(),
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let fill_of = |t: &str| {
            doc.descendants()
                .find(|n| n.is_text() && n.text() == Some(t))
                .and_then(|n| n.parent())
                .and_then(|p| p.attribute("fill"))
        };
        assert_eq!(fill_of("2/3"), Some(WARNING));
        assert_eq!(fill_of("3/3"), Some(SUCCESS));
        assert_eq!(fill_of("4/3"), Some(DANGER));
    }

    #[test]
    fn missing_parents_and_cycles_become_roots() {
        let ds = vec![
            dept(1, Some(99), "孤儿部"),
            dept(2, Some(3), "甲"),
            dept(3, Some(4), "乙"),
            dept(4, Some(2), "丙"),
            dept(5, Some(5), "自环"),
            dept(6, Some(3), "挂在环上"),
        ];
        let tree = department_tree(&ds, &labels(), &no_link);
        let roots: Vec<i64> = tree.roots.iter().map(|&r| tree.cards[r].key).collect();
        assert_eq!(
            roots,
            vec![1, 2, 5],
            "earliest member of the cycle becomes its root"
        );
        assert_eq!(tree.cards.len(), 6);
        assert_tidy(&tree, &layout_of(&tree));
        let svg = org_chart_svg(&ds, &labels(), &no_link);
        for d in &ds {
            assert!(has_text(&svg, &d.name));
        }
    }

    #[test]
    fn reporting_chart_puts_posts_under_their_superiors() {
        let posts = company_posts();
        let tree = reporting_tree(&posts, &labels());
        let layout = layout_of(&tree);
        assert_tidy(&tree, &layout);
        let roots: Vec<i64> = tree.roots.iter().map(|&r| tree.cards[r].key).collect();
        assert_eq!(roots, vec![100], "only 总经理 reports to nobody");
        let card = |id| tree.cards.iter().position(|c| c.key == id).unwrap();
        let kids: Vec<i64> = tree.children[card(102)]
            .iter()
            .map(|&c| tree.cards[c].key)
            .collect();
        assert_eq!(kids, vec![103, 106, 107, 108, 115, 116]);
        assert_eq!(layout.depth[card(104)], 2, "推广员 reports to 招商经理");

        let svg = reporting_chart_svg(&posts, &labels());
        for p in &posts {
            assert!(has_text(&svg, &p.name));
            assert!(has_text(&svg, &p.department_name));
        }
    }

    #[test]
    fn reporting_cycles_and_unknown_superiors_terminate() {
        let d = dept(1, None, "运营中心");
        let mut posts: Vec<ChartPosition> = (1..=5)
            .map(|i| post(i, &d, &format!("岗{i}"), 1, 1))
            .collect();
        posts[0].reports_to = Some(2);
        posts[1].reports_to = Some(3);
        posts[2].reports_to = Some(1);
        posts[3].reports_to = Some(42);
        posts[4].reports_to = Some(5);
        let tree = reporting_tree(&posts, &labels());
        let roots: Vec<i64> = tree.roots.iter().map(|&r| tree.cards[r].key).collect();
        assert_eq!(roots, vec![1, 4, 5]);
        assert_eq!(tree.cards.len(), 5);
        let svg = reporting_chart_svg(&posts, &labels());
        for p in &posts {
            assert!(has_text(&svg, &p.name));
        }
    }

    #[test]
    fn several_roots_side_by_side() {
        let ds = vec![
            dept(1, None, "总部"),
            dept(2, None, "分公司"),
            dept(3, Some(2), "分公司销售部"),
        ];
        let tree = department_tree(&ds, &labels(), &no_link);
        let layout = layout_of(&tree);
        assert_eq!(tree.roots.len(), 2);
        assert_eq!(layout.top[0], layout.top[1]);
        assert!(layout.left[0] + tree.cards[0].w + ROOT_GAP <= layout.left[1] + 0.01);
        assert_tidy(&tree, &layout);
    }

    #[test]
    fn empty_input_draws_the_empty_text() {
        for svg in [
            org_chart_svg(&[], &labels(), &no_link),
            reporting_chart_svg(&[], &labels()),
        ] {
            assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" "#));
            assert!(has_text(&svg, "暂无部门"));
            assert!(has_text(&svg, "组织架构图"));
        }
    }

    #[test]
    fn output_is_deterministic_with_short_numbers() {
        let ds = big_company(120);
        let a = org_chart_svg(&ds, &labels(), &|id| Some(format!("?fold={id}")));
        let b = org_chart_svg(&ds, &labels(), &|id| Some(format!("?fold={id}")));
        assert_eq!(a, b);
        let doc = roxmltree::Document::parse(&a).unwrap();
        for node in doc.descendants().filter(|n| n.is_element()) {
            for attr in node
                .attributes()
                .filter(|a| a.name() != "href" && a.name() != "font-family")
            {
                for number in attr
                    .value()
                    .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .filter(|s| s.contains('.'))
                {
                    let decimals = number.split('.').nth(1).unwrap();
                    assert!(decimals.len() <= 1, "{}={}", attr.name(), attr.value());
                }
            }
        }
    }

    #[test]
    fn numbers_print_with_one_decimal_at_most() {
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(12.25).to_string(), "12.3");
        assert_eq!(N(-0.04).to_string(), "0");
        assert_eq!(N(-0.5).to_string(), "-0.5");
        assert_eq!(N(-3.75).to_string(), "-3.8");
    }

    /// Renders the sample company; set CHART_SAMPLE_DIR to keep the SVGs.
    #[test]
    fn sample_company() {
        let ds = company();
        let org = org_chart_svg(&ds, &labels(), &|id| {
            Some(format!("/system/org?toggle={id}"))
        });
        let mut l = labels();
        l.title = "汇报关系图".into();
        let reporting = reporting_chart_svg(&company_posts(), &l);
        roxmltree::Document::parse(&org).unwrap();
        roxmltree::Document::parse(&reporting).unwrap();
        if let Ok(dir) = std::env::var("CHART_SAMPLE_DIR") {
            let dir = std::path::Path::new(&dir);
            std::fs::write(dir.join("sample.svg"), &org).unwrap();
            std::fs::write(dir.join("reporting.svg"), &reporting).unwrap();
            let mut folded = company();
            folded[5].collapsed = true;
            let svg = org_chart_svg(&folded, &labels(), &no_link);
            std::fs::write(dir.join("folded.svg"), svg).unwrap();
            let mut stress = vec![
                dept(1, None, "MMMMWWWWMMMMWWWWMMMMWWWW"),
                dept(
                    2,
                    Some(1),
                    "华东华南华北华中西南西北东北大区联合渠道拓展中心",
                ),
                dept(3, Some(1), "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"),
                dept(4, Some(1), "Customer Success & Operations"),
                dept(5, Some(1), "短"),
            ];
            stress[0].head = Some("Wolfgang Amadeus Mozart-Williams".into());
            for (i, n) in [
                "WWWWWWWWWWWWWWWWWWWWWWWW",
                "高级短视频内容策划与直播运营专员兼讲师",
                "Sr. Growth Manager (APAC)",
                "运营 Ops 123",
            ]
            .iter()
            .enumerate()
            {
                let p = post(i as i64, &stress[1], n, 12, 100);
                stress[(i % 4) + 1].positions.push(p);
            }
            let svg = org_chart_svg(&stress, &labels(), &no_link);
            std::fs::write(dir.join("stress.svg"), svg).unwrap();
            let big = org_chart_svg(&big_company(40), &labels(), &no_link);
            std::fs::write(dir.join("big.svg"), big).unwrap();
        }
    }
}
