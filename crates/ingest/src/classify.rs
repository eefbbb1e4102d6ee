//! What kind of data a table holds (`data_type`), scored in points per kind, each point with
//! its reason, from two sources of evidence:
//! - **header words** in English, German, French and Spanish, compared after folding case,
//!   accents and the German digraphs (`Gehälter`, `Gehaelter` and `gehalter` are one word), with
//!   plurals (`orders`, `Kunden`, `commandes`, `pedidos`) and, for German, compounds
//!   (`Lagerbestand` holds `lager` and `bestand`, `Bruttolohn` holds `lohn`);
//! - **value evidence** from what type inference found and from the sample's values: email
//!   addresses, web addresses, phone numbers, currency amounts, percentages, SKU-like codes,
//!   IBANs, IP addresses, ICD-10 codes, tracking numbers, log levels, status words, and typed
//!   values that agree with their header (integer stock levels, dates of sign-up or hire).
//!
//! Design decision: a column gives one kind at most [`MAX_COLUMN_POINTS`], and a kind wins only
//! with at least [`MIN_POINTS`] from at least two columns, else the table is `data`; so one
//! header alone never decides, and a table of `x,y` stays `data`. Deterministic and explainable
//! (the answer lists every kind's points and reasons): an LLM may refine it, never replace it.

use std::sync::OnceLock;

use serde::Serialize;

use crate::builder::snake_case;
use crate::model::{Column, ColumnType, SemanticType};

/// The most points one column gives one kind.
pub const MAX_COLUMN_POINTS: u32 = 4;
/// The least points a kind needs to win (from at least two columns).
pub const MIN_POINTS: u32 = 4;
/// Reasons kept per kind in the answer (the strongest; `points` counts them all).
const MAX_REASONS: usize = 12;
/// Sample values per column the value rules read.
pub(crate) const MAX_VALUES: usize = 50;

/// One reason a kind got points: the column and what in it pointed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointReason {
    /// Clean column key.
    pub column: String,
    pub points: u32,
    /// `header "Lagerbestand": "bestand" (de)`, `values are email addresses`, …
    pub reason: String,
}

/// The points one kind scored and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataTypePoints {
    pub kind: String,
    pub points: u32,
    /// The strongest reasons (at most 12), most points first.
    pub reasons: Vec<PointReason>,
}

/// What [`classify`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// A kind of [`known_data_types`], or `data`.
    pub data_type: String,
    /// Keys of the columns that gave the winning kind points (empty for `data`).
    pub evidence: Vec<String>,
    /// Every kind that scored, most points first (also when the answer is `data`).
    pub points: Vec<DataTypePoints>,
}

/// What the classifier reads of one column.
pub(crate) struct ColumnView<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub ty: ColumnType,
    pub semantic: Option<SemanticType>,
    /// Non-null values as written, at most [`MAX_VALUES`].
    pub values: Vec<&'a str>,
}

/// Header words per kind and language: whitespace-separated, `_` joins the words of a phrase,
/// `:N` gives the points (default 2: 3 = only this kind says it, 1 = shared or vague).
/// Order matters only to break ties.
const KINDS: &[(&str, [&str; 4])] = &[
    (
        "ecommerce",
        [
            "order:3 product sku cart:3 checkout:3 shipping:1 discount coupon:3 quantity:1 qty:1 \
             price:1 unit_price customer:1 item:1 subtotal:3 basket:3 line_item:3 refund shop \
             store:1 total:1 promo_code:3 order_date:3 variant:1",
            "bestell:3 auftrag:2 produkt artikel warenkorb:3 menge:1 preis:1 einzelpreis \
             stueckpreis rabatt gutschein:3 versandkosten:3 kunde:1 zwischensumme:3 gesamtpreis \
             bestellwert:3 shop",
            "commande:3 produit article:1 panier:3 quantite:1 prix:1 prix_unitaire remise \
             code_promo:3 frais_de_port:3 client:1 sous_total:3 boutique",
            "pedido:3 producto articulo:1 carrito:3 cantidad:1 precio:1 precio_unitario descuento \
             cupon:3 gastos_de_envio:3 cliente:1 subtotal:3 tienda",
        ],
    ),
    (
        "crm",
        [
            "lead:3 contact opportunity:3 deal:3 pipeline:3 stage:1 account:1 company:1 \
             prospect:3 owner:1 first_name:1 last_name:1 email:1 e_mail:1 phone:1 website \
             web_site sign_up signup signed_up registered registration:1 customer:1 client:1 \
             crm:3 follow_up last_contact:3 churn segment:1 loyalty:1 job_title:1 member:1 \
             member_since:3 customer_since:3 lifetime_value:3 nps:2",
            "ansprechpartner:3 kontakt firma:1 unternehmen:1 vorname:1 nachname:1 telefon:1 \
             webseite internetseite homepage registriert registrierung anmeldedatum:3 \
             angemeldet verkaufschance:3 phase:1 interessent:3 kunde:1 kunde_seit:3 mitglied:1 \
             mitglied_seit:3",
            "prospect:3 contact entreprise:1 societe:1 prenom:1 nom_de_famille:1 telephone:1 \
             site_web site_internet courriel:1 inscription inscrit date_d_inscription:3 \
             opportunite:3 etape:1 client:1 client_depuis:3 fidelite:1 membre:1",
            "prospecto:3 contacto empresa:1 apellido:1 telefono:1 sitio_web pagina_web \
             correo:1 registro fecha_de_alta:3 fecha_de_registro:3 alta:1 oportunidad:3 etapa:1 \
             cliente:1 cliente_desde:3 socio:1 miembro:1",
        ],
    ),
    (
        "finance",
        [
            "transaction:3 amount:1 balance debit:3 credit invoice:3 payment tax:1 vat:3 \
             ledger:3 iban:3 bic:3 swift:3 expense revenue currency fee:1 interest budget \
             cost:1 profit net:1 gross:1 fiscal:3 journal account_number:3 assets:3 \
             liabilities:3 equity cash due_date reference:1 booking:1 income",
            "buchung:3 betrag:1 saldo:3 soll haben rechnung:3 zahlung steuer mwst:3 ust konto \
             kontonummer:3 ausgabe einnahme umsatz waehrung gebuehr zins:3 kosten:1 gewinn \
             verwendungszweck:3 faellig brutto:1 netto:1 kostenstelle:3 beleg:3 haushalt:1",
            "transaction:3 montant:1 solde:3 debit:3 credit facture:3 paiement tva:3 taxe:1 \
             compte numero_de_compte:3 depense recette chiffre_d_affaires devise frais:1 \
             interet:3 benefice cout:1 echeance libelle:1 ht:1 ttc:1 ecriture:3",
            "transaccion:3 importe:1 monto:1 saldo:3 debe haber factura:3 pago iva:3 impuesto \
             cuenta numero_de_cuenta:3 gasto ingreso:1 moneda divisa comision interes:3 \
             presupuesto costo:1 coste:1 beneficio vencimiento concepto:1 asiento:3",
        ],
    ),
    (
        "inventory",
        [
            "stock:3 in_stock:3 stock_level:3 warehouse:3 reorder:3 reorder_point:3 supplier \
             vendor:1 bin:2 on_hand:3 onhand:3 units:1 inventory:3 restock:3 sku lot:2 batch:2 \
             location:1 shelf aisle:3 available:1 reserved:1 safety_stock:3 last_counted:3 \
             quantity:1 qty:1 backorder:3 lead_time",
            "lager:3 bestand:3 mindestbestand:3 lieferant regal:3 lagerplatz:3 lagerort:3 fach:1 \
             charge nachbestell:3 verfuegbar:1 reserviert:1 einheit:1 menge:1 artikelnummer:1 \
             inventur:3",
            "stock:3 entrepot:3 fournisseur emplacement rayon etagere lot:2 \
             reapprovisionnement:3 disponible:1 reserve:1 inventaire:3 seuil quantite:1 \
             reference:1 unite:1",
            "existencias:3 inventario:3 almacen:3 proveedor ubicacion estanteria:3 lote:2 \
             reposicion:3 disponible:1 reservado:1 stock:3 cantidad:1 unidades:1 pasillo:3",
        ],
    ),
    (
        "hr",
        [
            "employee:3 salary:3 department dept hire:2 hired:2 hire_date:3 manager:1 \
             position:1 job:1 job_title:1 payroll:3 termination:3 staff wage:3 leave:1 \
             vacation sick overtime headcount:3 contract:1 full_time part_time bonus:1 \
             onboarding personnel:3 tenure start_date:1 pay_grade:3",
            "mitarbeiter:3 personal personalnummer:3 gehalt:3 lohn:3 abteilung eintritt:3 \
             austritt:3 vorgesetzt stelle:1 position:1 urlaub krank arbeitszeit vollzeit teilzeit \
             vertrag:1 ueberstunde gehaltsgruppe:3",
            "employe:3 salarie:3 salaire:3 service:1 departement:1 embauche:3 date_d_embauche:3 \
             poste:1 conges contrat:1 temps_plein temps_partiel matricule responsable:1 \
             anciennete paie:3",
            "empleado:3 empleada:3 salario:3 sueldo:3 departamento contratacion:3 \
             fecha_de_ingreso:3 puesto:1 cargo:1 vacaciones contrato:1 nomina:3 antiguedad \
             jornada legajo:3",
        ],
    ),
    (
        "marketing",
        [
            "campaign:3 click:3 clicks:3 impressions:3 ctr:3 conversion utm:3 channel:1 spend \
             cpc:3 cpm:3 cpa:3 ad:2 ads:2 audience bounce sessions reach engagement opens \
             open_rate:3 roi roas:3 newsletter subscribers keyword source:1 medium:1 \
             followers likes",
            "kampagne:3 klick:3 impression:3 reichweite kanal:1 absprungrate:3 sitzung:1 \
             konversion zielgruppe anzeige oeffnungsrate:3 abonnent",
            "campagne:3 clic:3 impression:3 taux_de_clic:3 canal:1 audience conversion portee \
             taux_d_ouverture:3 annonce abonne rebond",
            "campana:3 clic:3 impresion:3 alcance canal:1 conversion audiencia anuncio rebote \
             suscriptor tasa_de_apertura:3",
        ],
    ),
    (
        "logistics",
        [
            "shipment:3 tracking:3 carrier:3 origin:1 destination weight:1 delivery delivered \
             freight:3 eta:3 route pallet:3 dispatch consignment:3 waybill:3 parcel:3 \
             package courier:3 transit ship_date driver vehicle truck container incoterm:3",
            "sendung:3 paket:3 spediteur:3 lieferung zustellung:3 zugestellt:3 gewicht:1 ziel:1 \
             herkunft:1 versand fracht:3 lkw:3 fahrer route palette:3 absender empfaenger \
             lieferdatum",
            "expedition:3 colis:3 transporteur:3 livraison livre:1 poids:1 destination \
             origine:1 fret:3 suivi:3 numero_de_suivi:3 itineraire palette:3 expediteur \
             destinataire chauffeur",
            "envio paquete:3 transportista:3 entrega entregado peso:1 destino origen:1 flete:3 \
             seguimiento:3 ruta palet:3 remitente destinatario conductor guia",
        ],
    ),
    (
        "healthcare",
        [
            "patient:3 diagnosis:3 icd:3 medication:3 doctor physician:3 admission discharge:3 \
             blood prescription:3 mrn:3 visit:1 clinic:3 dosage:3 allergy:3 hospital:3 ward:3 \
             nurse:3 treatment symptom:3 blood_pressure:3 heart_rate:3 insurance:1 appointment \
             bmi:3",
            "patient:3 diagnose:3 medikament:3 arzt:3 aufnahme entlassung:3 blut rezept klinik:3 \
             station:1 behandlung symptom:3 dosis:3 allergie:3 krankenkasse:3 termin:1 \
             blutdruck:3 puls:3 krankenhaus:3",
            "patient:3 diagnostic:3 medicament:3 medecin:3 admission sortie:1 sang ordonnance:3 \
             clinique:3 hopital:3 traitement symptome:3 posologie:3 allergie:3 mutuelle \
             tension_arterielle:3 rendez_vous:1",
            "paciente:3 diagnostico:3 medicamento:3 medico:3 sangre receta clinica:3 \
             hospital:3 tratamiento sintoma:3 dosis:3 alergia:3 cita:1 presion_arterial:3 \
             aseguradora:1",
        ],
    ),
    (
        "education",
        [
            "student:3 course:3 grade teacher:3 enrollment class:1 school:3 semester:3 gpa:3 \
             exam:3 score:1 tuition:3 credits subject:1 attendance:1 homework:3 lecture \
             professor:3 classroom:3 term:1 pupil:3 university degree",
            "schueler:3 student:3 kurs note:1 lehrer:3 klasse schule:3 semester:3 pruefung:3 \
             studiengang:3 vorlesung:3 anwesenheit:1 matrikel:3 zeugnis:3 unterricht:3",
            "eleve:3 etudiant:3 cours:3 note:1 professeur:3 enseignant:3 classe ecole:3 \
             semestre:3 examen:3 matiere moyenne bulletin",
            "alumno:3 alumna:3 estudiante:3 curso:3 nota:1 calificacion profesor:3 clase escuela:3 \
             colegio:3 semestre:3 examen:3 asignatura:3 matricula promedio asistencia:1",
        ],
    ),
    (
        "real_estate",
        [
            "property:3 listing bedrooms:3 bathrooms:3 beds:1 baths:1 sqft:3 square_feet:3 \
             rent lease tenant:3 landlord:3 mortgage:3 zoning:3 realtor:3 asking_price:3 \
             lot_size:3 year_built:3 hoa:3 floor:1 rooms",
            "immobilie:3 objekt:1 zimmer:3 wohnflaeche:3 flaeche miete:3 kaltmiete:3 warmmiete:3 \
             nebenkosten mieter:3 vermieter:3 baujahr:3 etage stockwerk:3 grundstueck:3 \
             kaufpreis makler:3 qm:3",
            "bien:1 logement:3 pieces chambres:3 surface loyer:3 bail:3 locataire:3 \
             proprietaire etage annee_de_construction:3 agence:1 charges:1 m2:2",
            "inmueble:3 propiedad vivienda:3 habitaciones:3 dormitorios:3 banos:3 superficie \
             alquiler:3 arrendatario:3 inquilino:3 propietario planta:1 hipoteca:3 \
             metros_cuadrados:3 m2:2",
        ],
    ),
    (
        "events",
        [
            "event:2 timestamp level:1 severity:3 message:1 user_agent:3 ip:3 ip_address:3 \
             status_code:3 latency:3 duration_ms:3 request trace:3 trace_id:3 span:3 \
             session_id log:3 host endpoint:3 method:1 path:1 response_time:3 error:1",
            "ereignis:3 zeitstempel:3 meldung nachricht:1 dauer:1 fehler protokoll schweregrad:3 \
             anfrage",
            "evenement:3 horodatage:3 niveau:1 gravite:3 message:1 duree:1 requete erreur",
            "evento:3 marca_de_tiempo:3 nivel:1 gravedad:3 mensaje duracion:1 solicitud \
             peticion",
        ],
    ),
];

const LANGUAGES: [&str; 4] = ["en", "de", "fr", "es"];

/// Status words (folded) that mark a kind when half a column's values are among them.
const STATUS_WORDS: &[(&str, &str)] = &[
    (
        "ecommerce",
        "pending paid shipped refunded cancelled canceled processing completed on_hold \
         bezahlt versandt storniert offen erstattet paye expedie expediee annule annulee \
         rembourse en_attente pagado enviado cancelado pendiente reembolsado",
    ),
    (
        "logistics",
        "in_transit delivered out_for_delivery dispatched picked_up unterwegs zugestellt \
         in_zustellung abgeholt en_transit livre en_cours_de_livraison en_transito entregado \
         en_reparto",
    ),
    (
        "crm",
        "new qualified contacted won lost negotiation proposal gewonnen verloren qualifiziert \
         angebot gagne perdu qualifie negociation ganado perdido calificado negociacion",
    ),
    (
        "hr",
        "full_time part_time on_leave vollzeit teilzeit temps_plein temps_partiel \
         jornada_completa media_jornada",
    ),
];

/// Names every data type `classify` can answer (besides `data`).
pub fn known_data_types() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|(k, _)| *k)
}

/// `Straße` → `strasse`, `Gehälter` and `Gehaelter` → `gehalter`, `Unit Price` → `unit_price`:
/// snake case without accents, and the German digraphs ae/oe/ue read as their vowel.
fn fold(text: &str) -> String {
    snake_case(text)
        .replace("ae", "a")
        .replace("oe", "o")
        .replace("ue", "u")
}

const PLURALS: [&str; 3] = ["s", "es", "x"];
const GERMAN_ENDINGS: [&str; 9] = ["e", "en", "n", "er", "ern", "s", "in", "innen", "nen"];

/// Whether the folded header (`tokens` of `joined`) holds the folded lexicon word `word`.
/// German words also match inside compounds: as the head (`lager` in `lagerort`), the tail
/// (`lohn` in `bruttolohn`) or, from five letters, anywhere (`bestand` in `mindestbestandwert`).
fn header_has(word: &str, joined: &str, tokens: &[&str], german: bool) -> bool {
    if word.contains('_') {
        // A phrase: its words in a row, or run together as one token (`onhand`, `unitprice`).
        let hay = format!("_{joined}_");
        let glued = word.replace('_', "");
        return PLURALS
            .iter()
            .chain([""].iter())
            .any(|p| hay.contains(&format!("_{word}{p}_")))
            || tokens.iter().any(|t| *t == glued);
    }
    tokens.iter().any(|t| {
        if let Some(rest) = t.strip_prefix(word) {
            if rest.is_empty() || PLURALS.contains(&rest) {
                return true;
            }
            if german && (GERMAN_ENDINGS.contains(&rest) || (word.len() >= 4 && rest.len() >= 3)) {
                return true;
            }
        }
        german
            && word.len() >= 4
            && (t.len() >= word.len() + 3 && t.ends_with(word)
                || word.len() >= 5 && t.contains(word))
    })
}

/// The best header word of each kind for one column: `(kind index, points, reason)`.
fn header_points(name: &str, key: &str) -> Vec<(usize, u32, String)> {
    let source = if name.trim().is_empty() { key } else { name };
    let joined = fold(source);
    if joined.is_empty() {
        return Vec::new();
    }
    let tokens: Vec<&str> = joined.split('_').filter(|t| !t.is_empty()).collect();
    let mut out = Vec::new();
    for (k, words) in header_lexicon().iter().enumerate() {
        let mut best: Option<(u32, String)> = None;
        for w in words {
            if best.as_ref().is_some_and(|(b, _)| *b >= w.points) {
                continue;
            }
            if header_has(&w.folded, &joined, &tokens, w.lang == "de") {
                best = Some((
                    w.points,
                    format!("header {source:?}: {:?} ({})", w.word, w.lang),
                ));
            }
        }
        if let Some((points, reason)) = best {
            out.push((k, points, reason));
        }
    }
    out
}

/// One header word of [`KINDS`], parsed and folded.
struct HeaderWord {
    word: &'static str,
    folded: String,
    points: u32,
    lang: &'static str,
}

/// The header words of each kind (in [`KINDS`] order, languages in [`LANGUAGES`] order), folded
/// once per process instead of once per column of every table.
fn header_lexicon() -> &'static [Vec<HeaderWord>] {
    static LEXICON: OnceLock<Vec<Vec<HeaderWord>>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        KINDS
            .iter()
            .map(|(_, langs)| {
                LANGUAGES
                    .iter()
                    .zip(langs)
                    .flat_map(|(lang, words)| {
                        words.split_whitespace().map(move |entry| {
                            let (word, points) = match entry.split_once(':') {
                                Some((w, p)) => (w, p.parse().unwrap_or(2)),
                                None => (entry, 2),
                            };
                            HeaderWord {
                                word,
                                folded: fold(word),
                                points,
                                lang,
                            }
                        })
                    })
                    .collect()
            })
            .collect()
    })
}

fn kind_index(kind: &str) -> usize {
    KINDS
        .iter()
        .position(|(k, _)| *k == kind)
        .expect("a kind of KINDS")
}

/// Whether at least nine in ten of `values` (and at least one) pass `f`.
fn most(values: &[&str], f: impl Fn(&str) -> bool) -> bool {
    let hits = values.iter().filter(|v| f(v)).count();
    hits > 0 && hits * 10 >= values.len() * 9
}

/// `SKU-10234`, `TSH-RED-M`, `AB1234`: upper-case letters and digits, in groups.
fn looks_like_sku(v: &str) -> bool {
    let b = v.as_bytes();
    if !(4..=20).contains(&b.len())
        || !b.iter().any(u8::is_ascii_uppercase)
        || !b.iter().any(u8::is_ascii_digit)
        || !b
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
        || !b[0].is_ascii_uppercase()
    {
        return false;
    }
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    b.contains(&b'-') || b.contains(&b'_') || (letters <= 4 && b.len() - letters >= 3)
}

/// `DE89 3704 0044 0532 0130 00`: a country code, two check digits, 11 to 30 letters/digits.
fn looks_like_iban(v: &str) -> bool {
    let s: String = v.chars().filter(|c| *c != ' ').collect();
    let b = s.as_bytes();
    (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `J10.1`, `E11`: a letter (not U), two digits, an optional `.` and up to four more.
fn looks_like_icd10(v: &str) -> bool {
    let b = v.as_bytes();
    let (head, tail) = b.split_at(b.len().min(3));
    head.len() == 3
        && head[0].is_ascii_uppercase()
        && head[0] != b'U'
        && head[1..].iter().all(u8::is_ascii_digit)
        && (tail.is_empty()
            || (tail[0] == b'.'
                && (2..=5).contains(&tail.len())
                && tail[1..].iter().all(u8::is_ascii_alphanumeric)))
}

/// UPS `1Z…` (18 characters) or a UPU S10 number (`RR123456789DE`).
fn looks_like_tracking(v: &str) -> bool {
    let b = v.as_bytes();
    let upper_digit = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (b.len() == 18 && b.starts_with(b"1Z") && b.iter().all(upper_digit))
        || (b.len() == 13
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..11].iter().all(u8::is_ascii_digit)
            && b[11..].iter().all(u8::is_ascii_uppercase))
}

fn in_list(list: &str, v: &str) -> bool {
    let v = fold(v);
    !v.is_empty() && list.split_whitespace().any(|w| w == v)
}

/// Value evidence of one column: `(kind, points, reason)`. `header_kinds` are the kinds its
/// header already pointed to (typed values that agree with them add a point).
fn value_points(c: &ColumnView, header_kinds: &[usize]) -> Vec<(usize, u32, String)> {
    let mut out = Vec::new();
    let mut add = |kind: &str, points: u32, reason: &str| {
        out.push((kind_index(kind), points, reason.to_owned()))
    };
    match c.semantic {
        Some(SemanticType::Email) => add("crm", 2, "values are email addresses"),
        Some(SemanticType::Url) => {
            add("crm", 1, "values are web addresses");
            add("marketing", 1, "values are web addresses");
        }
        Some(SemanticType::Phone) => add("crm", 1, "values are phone numbers"),
        Some(SemanticType::Currency) => {
            add("finance", 1, "values are currency amounts");
            add("ecommerce", 1, "values are currency amounts");
        }
        Some(SemanticType::Percent) => {
            add("marketing", 1, "values are percentages");
            add("finance", 1, "values are percentages");
        }
        Some(SemanticType::Ipv4) => add("events", 3, "values are IP addresses"),
        Some(SemanticType::Uuid) => add("events", 1, "values are UUIDs"),
        _ => {}
    }
    let v = &c.values;
    if matches!(c.ty, ColumnType::String | ColumnType::Mixed) && !v.is_empty() {
        let header_elsewhere = header_kinds
            .iter()
            .any(|k| !matches!(KINDS[*k].0, "ecommerce" | "inventory"));
        if !header_elsewhere && most(v, looks_like_sku) {
            add("ecommerce", 1, "values look like SKUs");
            add("inventory", 1, "values look like SKUs");
        }
        if most(v, looks_like_iban) {
            add("finance", 3, "values are IBANs");
        }
        if most(v, looks_like_icd10) && v.iter().any(|x| x.contains('.')) {
            add("healthcare", 2, "values are ICD-10 codes");
        }
        if most(v, looks_like_tracking) {
            add("logistics", 2, "values are tracking numbers");
        }
        let levels = "debug info warn warning error fatal critical notice trace";
        if most(v, |x| in_list(levels, x)) {
            add("events", 2, "values are log levels");
        }
        let methods = "get post put patch delete head options";
        if most(v, |x| {
            in_list(methods, x) && x.bytes().all(|b| b.is_ascii_uppercase())
        }) {
            add("events", 2, "values are HTTP methods");
        }
        for (kind, words) in STATUS_WORDS {
            let hits = v.iter().filter(|x| in_list(words, x)).count();
            if hits * 2 >= v.len() {
                add(kind, 1, "values are status words");
            }
        }
    }
    for &k in header_kinds {
        let kind = KINDS[k].0;
        let agrees = match c.ty {
            ColumnType::Integer => match kind {
                "inventory" => Some("integer values (stock levels)"),
                "marketing" | "events" | "real_estate" | "education" => Some("integer values"),
                _ => None,
            },
            ColumnType::Number => match kind {
                "finance" | "ecommerce" | "real_estate" | "marketing" | "hr" => {
                    Some("numeric values (amounts)")
                }
                "inventory" => Some("numeric values (stock levels)"),
                _ => None,
            },
            ColumnType::Date | ColumnType::Datetime => match kind {
                "crm" => Some("dates (sign-up, last contact)"),
                "hr" | "healthcare" | "education" | "logistics" | "finance" | "ecommerce" => {
                    Some("dates")
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(reason) = agrees {
            add(kind, 1, &format!("typed values agree: {reason}"));
        }
    }
    if c.ty == ColumnType::Datetime {
        add("events", 1, "values are timestamps");
    }
    out
}

/// Scores every kind over `columns` and picks the winner.
pub(crate) fn classify_views(columns: &[ColumnView]) -> Classification {
    // Per kind: (points, reasons, column keys that gave points).
    let mut scores: Vec<(u32, Vec<PointReason>, Vec<String>)> =
        vec![(0, Vec::new(), Vec::new()); KINDS.len()];
    for c in columns {
        let header = header_points(c.name, c.key);
        let header_kinds: Vec<usize> = header.iter().map(|h| h.0).collect();
        let mut per_kind = vec![0u32; KINDS.len()];
        for (k, points, reason) in header.into_iter().chain(value_points(c, &header_kinds)) {
            let points = points.min(MAX_COLUMN_POINTS - per_kind[k]);
            if points == 0 {
                continue;
            }
            per_kind[k] += points;
            let (total, reasons, keys) = &mut scores[k];
            *total += points;
            reasons.push(PointReason {
                column: c.key.to_owned(),
                points,
                reason,
            });
            if keys.last().map(String::as_str) != Some(c.key) {
                keys.push(c.key.to_owned());
            }
        }
    }
    let mut order: Vec<usize> = (0..KINDS.len()).filter(|k| scores[*k].0 > 0).collect();
    // Stable: equal points keep the order of KINDS.
    order.sort_by_key(|k| std::cmp::Reverse(scores[*k].0));
    let winner = order
        .first()
        .copied()
        .filter(|k| scores[*k].0 >= MIN_POINTS && scores[*k].2.len() >= 2);
    let points = order
        .iter()
        .map(|&k| {
            let (total, reasons, _) = &scores[k];
            let mut reasons = reasons.clone();
            reasons.sort_by_key(|r| std::cmp::Reverse(r.points));
            reasons.truncate(MAX_REASONS);
            DataTypePoints {
                kind: KINDS[k].0.to_owned(),
                points: *total,
                reasons,
            }
        })
        .collect();
    match winner {
        Some(k) => Classification {
            data_type: KINDS[k].0.to_owned(),
            evidence: scores[k].2.clone(),
            points,
        },
        None => Classification {
            data_type: "data".to_owned(),
            evidence: Vec::new(),
            points,
        },
    }
}

/// The text of a sample value the value rules read (strings as they are, numbers as JSON).
fn sample_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Classifies finished columns (header, types and their stored `samples`). Tables read by
/// [`crate::ingest`] are classified from their sample rows instead, as soon as the types are
/// fixed, so a stream knows its `data_type` before its last row.
pub fn classify(columns: &[Column]) -> Classification {
    let texts: Vec<Vec<String>> = columns
        .iter()
        .map(|c| c.samples.iter().filter_map(sample_text).collect())
        .collect();
    let views: Vec<ColumnView> = columns
        .iter()
        .zip(&texts)
        .map(|(c, t)| ColumnView {
            key: &c.key,
            name: &c.name,
            ty: c.ty,
            semantic: c.semantic_type,
            values: t.iter().map(String::as_str).collect(),
        })
        .collect();
    classify_views(&views)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(word: &str, header: &str, german: bool) -> bool {
        let joined = fold(header);
        let tokens: Vec<&str> = joined.split('_').collect();
        header_has(&fold(word), &joined, &tokens, german)
    }

    #[test]
    fn folding_reads_accents_and_digraphs_alike() {
        assert_eq!(fold("Gehälter"), fold("Gehaelter"));
        assert_eq!(fold("Gehälter"), "gehalter");
        assert_eq!(fold("Quantité"), "quantite");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Número de seguimiento"), "numero_de_seguimiento");
    }

    #[test]
    fn header_words_match_plurals_phrases_and_german_compounds() {
        assert!(has("order", "Orders", false));
        assert!(has("commande", "N° commandes", false));
        assert!(has("on_hand", "Qty on hand", false));
        assert!(has("on_hand", "OnHand", false));
        assert!(has("bestand", "Lagerbestand", true));
        assert!(has("lager", "Lagerort", true));
        assert!(has("lohn", "Bruttolohn", true));
        assert!(has("kunde", "Kundennummer", true));
        assert!(has("gehalt", "Gehälter", true));
        assert!(has("arzt", "Ärztin", true));
        // English words do not match inside other words.
        assert!(!has("rent", "Current balance", false));
        assert!(!has("order", "Border", false));
        assert!(!has("stock", "Stockwerk", false));
    }

    #[test]
    fn value_shapes() {
        assert!(looks_like_sku("SKU-10234"));
        assert!(looks_like_sku("TSH-RED-M1"));
        assert!(looks_like_sku("AB1234"));
        assert!(!looks_like_sku("Berlin"));
        assert!(!looks_like_sku("2024-01-01"));
        assert!(looks_like_iban("DE89 3704 0044 0532 0130 00"));
        assert!(looks_like_icd10("J10.1"));
        assert!(!looks_like_icd10("U07.1"));
        assert!(looks_like_tracking("1Z999AA10123456784"));
        assert!(looks_like_tracking("RR123456789DE"));
    }

    fn view<'a>(name: &'a str, ty: ColumnType, sem: Option<SemanticType>) -> ColumnView<'a> {
        ColumnView {
            key: name,
            name,
            ty,
            semantic: sem,
            values: Vec::new(),
        }
    }

    #[test]
    fn one_column_never_decides_and_points_keep_their_reasons() {
        let got = classify_views(&[
            view("Patient", ColumnType::String, None),
            view("x", ColumnType::Integer, None),
        ]);
        assert_eq!(got.data_type, "data");
        assert_eq!(got.points[0].kind, "healthcare");
        assert_eq!(got.points[0].points, 3);
        let got = classify_views(&[
            view("Email", ColumnType::String, Some(SemanticType::Email)),
            view("Website", ColumnType::String, Some(SemanticType::Url)),
            view("Signed up", ColumnType::Date, None),
        ]);
        assert_eq!(got.data_type, "crm");
        assert_eq!(got.evidence, ["Email", "Website", "Signed up"]);
        let crm = &got.points[0];
        assert_eq!(crm.points, 3 + 3 + 3);
        assert!(crm
            .reasons
            .iter()
            .any(|r| r.reason == "values are email addresses" && r.points == 2));
    }
}
